/**
 * The answers an HTTP connection still owes: requests node:http has read in full whose
 * responses have not finished. node:http, when a later pipelined request in the same read is
 * malformed or asks for an upgrade, acts on that one at once and closes (or hands the socket
 * over) without them; the same bytes in separate reads got every answer. echoplex waits for the
 * owed answers first, so an answer never depends on how the bytes were cut into reads, which
 * the fast path (fast.ts) relies on: it answers at once, and hands node:http only the rest.
 * A request whose body never came in full is not owed an answer: nothing waits for it.
 *
 * It also bounds them: a connection with MAX_WAITING requests waiting for their answers stops
 * being read (node:http's own pause, which it uses only for answers the client does not take)
 * until one is answered. A client pipelining delayed requests it never reads holds that many
 * and what its last read brought, not every request it sent.
 */

/** How long a rejection or an upgrade waits for the answers owed before it, at most. */
const OWED_MAX_MS = 5_000;
/** Requests one connection may have waiting for their answers before it is no longer read. */
export const MAX_WAITING = 32;

/** A request node:http read: `complete` once its whole body is in. */
interface Request {
  readonly complete: boolean;
}
const OPEN = Symbol("echoplex.open");
const THEN = Symbol("echoplex.then");
/** This module paused the socket (not node:http for a client that does not read). */
const HELD_BACK = Symbol("echoplex.heldBack");
/**
 * node:http's socket, as it pauses one whose client does not take its answers: `_paused` set,
 * the socket paused now and its parser after the read being parsed (lib/_http_server.js).
 */
interface Paused {
  _paused?: boolean;
  parser?: { resume(): void } | null;
  pause?(): unknown;
  resume?(): unknown;
}
interface Owing extends Paused {
  /** Requests read on this socket whose responses have not closed. */
  [OPEN]?: Set<Request>;
  /** What waits for the owed answers. */
  [THEN]?: (() => void) | undefined;
  [HELD_BACK]?: boolean;
}

function owes(s: Owing): boolean {
  for (const req of s[OPEN] ?? []) if (req.complete) return true;
  return false;
}

/** A request was read on `socket`: it is open until `res` closes. */
export function owe(
  socket: object,
  req: Request,
  res: { once(e: "close", f: () => void): unknown },
): void {
  const s = socket as Owing;
  const open = s[OPEN] ?? new Set<Request>();
  s[OPEN] = open;
  open.add(req);
  if (open.size >= MAX_WAITING && s._paused !== true) {
    s._paused = true;
    s[HELD_BACK] = true;
    s.pause?.();
  }
  res.once("close", () => {
    open.delete(req);
    if (open.size < MAX_WAITING && s[HELD_BACK] === true) {
      s[HELD_BACK] = false;
      // As node:http resumes (socketOnDrain), unless it has resumed already.
      if (s._paused === true) {
        s._paused = false;
        s.parser?.resume();
        s.resume?.();
      }
    }
    if (!owes(s)) s[THEN]?.();
  });
}

/**
 * Run `then` once `socket` owes no answer (at once if it owes none, after OWED_MAX_MS at most:
 * a client that does not read its answers does not hold the connection that long). Once per
 * socket: a second call while one waits is dropped.
 */
export function afterOwed(socket: object, then: () => void): void {
  const s = socket as Owing;
  if (s[THEN] !== undefined) return;
  if (!owes(s)) {
    s[THEN] = () => {};
    then();
    return;
  }
  const timer = setTimeout(() => s[THEN]?.(), OWED_MAX_MS);
  s[THEN] = () => {
    s[THEN] = () => {}; // once
    clearTimeout(timer);
    then();
  };
}
