/**
 * The HTTP/2 fast path: a stream that asks only for its body back (POST, PUT or PATCH with a
 * Content-Length of 1 to 4 KiB, no response control, no JSON asked for, not one of httpbin's
 * paths) is answered on node:http2's core stream API, header for header as the compatibility
 * API's path (echo.ts) answers it; any other stream goes to that path. It skips what that path
 * costs per request and this one does not need: the compatibility request and response objects
 * with their listeners, and a timer per request (one sweep per loop keeps --request-timeout).
 *
 * Taken only where the HTTP/1 fast path is (no TLS-independent reason differs): no --work,
 * --cors or --access-log, and not while a fault plan is on (service.ts decides).
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { isHttpbinSegment } from "../httpbin/routes.ts";
import type { ByteBudget } from "../loop/byte-budget.ts";
import type { Faults } from "../loop/faults.ts";
import { ignore } from "../loop/ignore.ts";
import type { Tally } from "../loop/tally.ts";
import { FAST_BODY_MAX } from "./fast-head.ts";
import { streamClosed } from "./h2-idle.ts";
import { FAILED_TEXT, REQUEST_COST, REQUEST_TIMEOUT_TEXT, SAFE } from "./reply.ts";

const [SAFE_1, SAFE_1V, SAFE_2, SAFE_2V] = SAFE as [string, string, string, string];

export interface H2FastOptions {
  readonly maxBody: number;
  readonly budget: ByteBudget;
  /** --request-timeout (ms; 0: none). */
  readonly requestTimeoutMs: number;
  /** Every stream goes to the compatibility path now (a fault plan is on). */
  off(): boolean;
  readonly faults: Faults;
  readonly tally: Tally;
}

/**
 * The body length of a stream the fast path answers, or -1 for the compatibility path. `raw` is
 * the stream's header list as node:http2 gives it (name, value, ...): walking it, and reading
 * Content-Length without a regular expression, took this function from about 1 µs a stream to
 * 0.15 (--cpu-prof, h2load -c50 -m10); `for...in` over the headers object walks a dictionary.
 */
export function fastLength(
  headers: IncomingHttpHeaders,
  raw: readonly string[],
  maxBody: number,
): number {
  const method = headers[":method"];
  if (method !== "POST" && method !== "PUT" && method !== "PATCH") return -1;
  const path = headers[":path"];
  if (path === undefined || path.charCodeAt(0) !== 0x2f) return -1;
  const q = path.indexOf("?");
  // ?format=json asks for the JSON description, echo_ for response control.
  if (q >= 0 && (path.includes("format=json", q) || path.includes("echo_", q))) return -1;
  let end = 1;
  while (end < path.length && path[end] !== "/" && path[end] !== "?" && path[end] !== "#") end++;
  if (isHttpbinSegment(path.slice(1, end))) return -1;
  const length = decimal(headers["content-length"]);
  if (length < 1 || length > FAST_BODY_MAX || length > maxBody) return -1;
  if (headers.accept?.includes("application/json") === true) return -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // x-echo-*: response control; expect: 100-continue, answered by the compatibility path.
    if (name.length > 7 && name.startsWith("x-echo-")) return -1;
    if (name === "expect") return -1;
  }
  return length;
}

/** A Content-Length of 1 to 10 digits, or -1. */
function decimal(value: string | undefined): number {
  if (value === undefined || value.length === 0 || value.length > 10) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/** What the fast path keeps of a stream it answers, on the stream itself. */
const BODY = Symbol("echoplex.h2FastBody");
interface Taken extends ServerHttp2Stream {
  [BODY]: Body;
}

class Body {
  readonly fast: H2Fast;
  readonly length: number;
  readonly type: string | undefined;
  size = 0;
  first: Buffer | undefined = undefined;
  chunks: Buffer[] | undefined = undefined;

  constructor(fast: H2Fast, length: number, type: string | undefined) {
    this.fast = fast;
    this.length = length;
    this.type = type;
  }
}

function onData(this: Taken, chunk: Buffer): void {
  const b = this[BODY];
  b.size += chunk.length;
  if (b.first === undefined) b.first = chunk;
  else if (b.chunks === undefined) b.chunks = [b.first, chunk];
  else b.chunks.push(chunk);
}

export class H2Fast {
  readonly #o: H2FastOptions;
  /** Streams whose body is not in yet, with when they began (for --request-timeout). */
  readonly #waiting = new Map<ServerHttp2Stream, number>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(o: H2FastOptions) {
    this.#o = o;
  }

  /** Answer `stream` here if it is one of ours (true); else leave it untouched (false). */
  take(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: readonly string[]): boolean {
    const o = this.#o;
    if (o.off()) return false;
    const length = fastLength(headers, raw, o.maxBody);
    // The budget full: the compatibility path answers 503, as for any other request.
    if (length < 0 || !o.budget.take(REQUEST_COST + length)) return false;
    o.tally.messages.http++;
    (stream as Taken)[BODY] = new Body(this, length, headers["content-type"]);
    // Listeners shared by every stream, their state on the stream (no closures a request); 'end'
    // and 'close' come once each: on(), not once(), which wraps and then removes a listener.
    stream.on("data", onData);
    stream.on("end", H2Fast.#onEnd);
    stream.on("close", H2Fast.#onClose);
    stream.on("error", ignore);
    if (o.requestTimeoutMs > 0) this.#wait(stream);
    return true;
  }

  static readonly #onEnd = function (this: Taken): void {
    this[BODY].fast.#answer(this, this[BODY]);
  };

  static readonly #onClose = function (this: Taken): void {
    streamClosed(this); // the session's idle count (h2-idle.ts): one close listener, not two
    const fast = this[BODY].fast;
    fast.#waiting.delete(this);
    fast.#o.budget.give(REQUEST_COST + this[BODY].length);
  };

  #answer(stream: ServerHttp2Stream, b: Body): void {
    this.#waiting.delete(stream);
    // Ended by its session's end (a protocol error, a reset): no one to answer (found by the
    // h2c fuzz: respond() threw on a destroyed stream).
    if (stream.destroyed || stream.closed) return;
    try {
      // nghttp2 resets a stream whose DATA differs from its Content-Length before this; were
      // one to come through, it has no answer.
      if (b.size !== b.length) {
        stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      const body = b.chunks === undefined ? (b.first as Buffer) : Buffer.concat(b.chunks, b.size);
      // A raw header list (node 24.7 and later): node:http2 copies an object into a dictionary.
      const head = [":status", "200", "content-length", String(b.size), ...SAFE];
      if (b.type !== undefined) head.push("content-type", b.type);
      stream.respond(head);
      // The body, then END_STREAM once it is written. Ended with the body (or in the same tick),
      // the stream closes before its write completes, and node:streams then builds an
      // ERR_STREAM_DESTROYED it never throws: a stack trace a request, 8% of this path's CPU
      // (--cpu-prof), more than the empty DATA frame that ends the stream this way costs.
      stream.write(body, () => stream.end());
    } catch (err) {
      this.#fail(stream, err);
    }
  }

  /** --request-timeout: one sweep for every waiting stream, a quarter of the timeout apart. */
  #wait(stream: ServerHttp2Stream): void {
    this.#waiting.set(stream, performance.now());
    if (this.#sweep !== undefined) return;
    const every = Math.max(10, Math.min(1000, this.#o.requestTimeoutMs / 4));
    this.#sweep = setInterval(() => this.#expire(), every);
    this.#sweep.unref();
  }

  #expire(): void {
    const o = this.#o;
    const due = performance.now() - o.requestTimeoutMs;
    for (const [stream, began] of this.#waiting) {
      if (began > due) continue;
      this.#waiting.delete(stream);
      if (stream.destroyed || stream.closed) continue;
      o.tally.limits.requestTimeout++;
      // As the compatibility path answers it (http2.ts requestDeadline), then NO_ERROR: the
      // answer is complete, the client may stop sending (RFC 9113 8.1).
      try {
        stream.respond({
          ":status": 408,
          "content-type": "text/plain",
          [SAFE_1]: SAFE_1V,
          [SAFE_2]: SAFE_2V,
        });
        stream.end(REQUEST_TIMEOUT_TEXT);
        stream.close(constants.NGHTTP2_NO_ERROR);
      } catch (err) {
        this.#fail(stream, err);
      }
    }
    if (this.#waiting.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** Our own exception: 500 if nothing was sent, else the stream reset; counted. Never throws. */
  #fail(stream: ServerHttp2Stream, err: unknown): void {
    this.#o.faults.caught(err, "http");
    try {
      if (!stream.headersSent) {
        stream.respond({
          ":status": 500,
          "content-type": "text/plain",
          "content-length": Buffer.byteLength(FAILED_TEXT),
          [SAFE_1]: SAFE_1V,
          [SAFE_2]: SAFE_2V,
        });
        stream.end(FAILED_TEXT);
      } else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    } catch {
      stream.destroy();
    }
  }

  /** Drain: the sweep stops with the loop (waiting streams end with their sessions). */
  stop(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}
