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

/** The body length of a stream the fast path answers, or -1 for the compatibility path. */
export function fastLength(headers: IncomingHttpHeaders, maxBody: number): number {
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
  const declared = headers["content-length"];
  if (declared === undefined || !/^\d{1,10}$/.test(declared)) return -1;
  const length = Number(declared);
  if (length < 1 || length > FAST_BODY_MAX || length > maxBody) return -1;
  if (headers.accept?.includes("application/json") === true) return -1;
  for (const name in headers) {
    // x-echo-*: response control; expect: 100-continue, answered by the compatibility path.
    if (name.length > 7 && name.startsWith("x-echo-")) return -1;
    if (name === "expect") return -1;
  }
  return length;
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
  take(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    const o = this.#o;
    if (o.off()) return false;
    const length = fastLength(headers, o.maxBody);
    // The budget full: the compatibility path answers 503, as for any other request.
    if (length < 0 || !o.budget.take(REQUEST_COST + length)) return false;
    o.tally.messages.http++;
    const type = headers["content-type"];
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    });
    stream.once("end", () => {
      this.#waiting.delete(stream);
      // Ended by its session's end (a protocol error, a reset): no one to answer (found by the
      // h2c fuzz: respond() threw on a destroyed stream).
      if (stream.destroyed || stream.closed) return;
      try {
        // nghttp2 resets a stream whose DATA differs from its Content-Length before this; were
        // one to come through, it has no answer.
        if (size !== length) {
          stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
          return;
        }
        const body = chunks === undefined ? (first as Buffer) : Buffer.concat(chunks, size);
        stream.respond(
          type === undefined
            ? { ":status": 200, "content-length": size, [SAFE_1]: SAFE_1V, [SAFE_2]: SAFE_2V }
            : {
                ":status": 200,
                "content-type": type,
                "content-length": size,
                [SAFE_1]: SAFE_1V,
                [SAFE_2]: SAFE_2V,
              },
        );
        // The body, then END_STREAM once it is written: ended with the body, the stream closes
        // before its write completes, and node:streams then builds an ERR_STREAM_DESTROYED it
        // never throws (a stack trace a request: a fifth of this path's CPU, --cpu-prof).
        stream.write(body, () => stream.end());
      } catch (err) {
        this.#fail(stream, err);
      }
    });
    stream.once("close", () => {
      this.#waiting.delete(stream);
      o.budget.give(REQUEST_COST + length);
    });
    stream.on("error", ignore);
    if (o.requestTimeoutMs > 0) this.#wait(stream);
    return true;
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
