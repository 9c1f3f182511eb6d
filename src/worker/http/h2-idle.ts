/**
 * Idle HTTP/2 sessions: a session with no stream open for the header timeout (from its start, or
 * since its last stream closed) is closed with GOAWAY, then destroyed if it has not gone a second
 * later. A client that sends only the preface, or keeps an idle session, does not hold a
 * connection for ever.
 *
 * Per stream this costs a count on its session's tracker and no listener of its own where the
 * stream has one already (the fast path's 'close' counts for it): node:events copies a list of
 * listeners at each event, and a single listener is not a list. The tracker's one timer, re-armed
 * for what is left when it fires, does no work per stream.
 */
import type { Http2Session, ServerHttp2Stream } from "node:http2";
import type { Tally } from "../loop/tally.ts";

/** How long a session closed with GOAWAY may take to go before it is destroyed. */
const GOAWAY_GRACE_MS = 1_000;
/** A session's tracker, on the session and on each of its open streams. */
const IDLE = Symbol("echoplex.h2Idle");

interface Tracked {
  [IDLE]?: Idle;
}

class Idle {
  readonly #session: Http2Session;
  readonly #limitMs: number;
  readonly #tally: Tally;
  #timer: NodeJS.Timeout;
  open = 0;
  idleSince = performance.now();

  constructor(session: Http2Session, limitMs: number, tally: Tally) {
    this.#session = session;
    this.#limitMs = limitMs;
    this.#tally = tally;
    this.#timer = this.#arm(limitMs);
    session.once("close", () => clearTimeout(this.#timer));
  }

  #arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#check(), ms);
    timer.unref();
    return timer;
  }

  #check(): void {
    const idle = this.open === 0 ? performance.now() - this.idleSince : 0;
    if (idle < this.#limitMs) {
      this.#timer = this.#arm(this.#limitMs - idle);
      return;
    }
    this.#tally.limits.headerTimeout++;
    const session = this.#session;
    session.close();
    setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
  }
}

/** Close `session` once it has had no stream open for `limitMs` (0: never). */
export function trackIdle(session: Http2Session, limitMs: number, tally: Tally): void {
  if (limitMs > 0) (session as Tracked)[IDLE] = new Idle(session, limitMs, tally);
}

/**
 * A new stream on its session. `listen`: count its close here; else the caller's own 'close'
 * listener calls streamClosed().
 */
export function streamOpened(stream: ServerHttp2Stream, listen: boolean): void {
  const idle = (stream.session as Tracked | undefined)?.[IDLE];
  if (idle === undefined) return;
  idle.open++;
  (stream as Tracked)[IDLE] = idle;
  if (listen) stream.on("close", onClose);
}

export function streamClosed(stream: ServerHttp2Stream): void {
  const idle = (stream as Tracked)[IDLE];
  if (idle !== undefined && --idle.open === 0) idle.idleSince = performance.now();
}

function onClose(this: ServerHttp2Stream): void {
  streamClosed(this);
}
