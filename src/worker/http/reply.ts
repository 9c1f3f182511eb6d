/**
 * What every HTTP answer of node:http's path shares: the headers that make an echoed body safe
 * in a browser, the short texts of answers that close the connection, and which requests are
 * answered with a JSON description.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { wantsJson } from "./describe-request.ts";

/**
 * What a request costs the loop while it waits for its answer (node:http's request and response
 * objects, parser state and listeners), charged against --http-buffer until the answer closes:
 * pipelined requests that are never read then hit the bound instead of the heap. Measured
 * (test/faults/memory.test.ts): ~7 KB a waiting request. HTTP/2's fast path charges it too.
 */
export const REQUEST_COST = 8 * 1024;
/** The answer to a request whose body did not come within --request-timeout (HTTP/2's 408). */
export const REQUEST_TIMEOUT_TEXT = "request not complete within --request-timeout\n";
/** The answer to a request our code failed on (500), on node:http's path and the fast path. */
export const FAILED_TEXT = "internal error; this connection is closed\n";
/** Sent with every answer: never sniff an echoed body, never run it as a page (no scripts). */
export const SAFE = ["x-content-type-options", "nosniff", "content-security-policy", "sandbox"];

/**
 * A request node:http2 read (its compatibility request has a stream), not an HTTP/1 request
 * line that only says "HTTP/2.0": node:http parses that one too, with httpVersionMajor 2.
 */
export function isHttp2(req: IncomingMessage | undefined): boolean {
  return (req as { stream?: unknown } | undefined)?.stream !== undefined;
}

/**
 * Answer `status` with a short text and close the connection (HTTP/2: the stream). Never throws:
 * when the answer cannot be written, the response is destroyed (its HTTP/2 stream reset, its
 * HTTP/1 connection closed) and the error returned for the caller to count.
 */
export function closeWith(
  res: ServerResponse,
  status: number,
  text: string,
  extra: readonly string[] = [],
): unknown {
  try {
    // A writeHead that threw (node:http2 checks headers as it sends them) leaves what it was
    // given set on the response: start from none, or this answer would throw the same way.
    if (!res.headersSent) for (const name of res.getHeaderNames()) res.removeHeader(name);
    // HTTP/2 has no Connection header: the stream ends, the connection goes on.
    const close = isHttp2(res.req) ? [] : ["connection", "close"];
    res.writeHead(status, [
      "content-type",
      "text/plain",
      "content-length",
      String(Buffer.byteLength(text)),
      ...close,
      ...SAFE,
      ...extra,
    ]);
    res.end(text);
    return undefined;
  } catch (err) {
    res.destroy();
    return err;
  }
}

/** Is the answer to `req` a JSON description (GET, HEAD, or asked for), whatever its body? */
export function describes(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || wantsJson(req);
}

/** Responses that sent 100 Continue (see writeHeadInOrder). */
const CONTINUED = new WeakSet<ServerResponse>();

export function sendContinue(res: ServerResponse): void {
  res.writeContinue();
  CONTINUED.add(res);
}

/**
 * writeHead, kept after a 100 Continue. node:http queues the writes of a pipelined response until
 * the responses before it are done, and puts a head whose first body chunk is a Buffer in front
 * of that queue: the 100 Continue queued earlier then came after the head, inside the answer
 * (found by the differential fuzz). Sent alone at once (flushHeaders), the head goes through the
 * queue in order.
 */
export function writeHeadInOrder(res: ServerResponse, status: number, headers: string[]): void {
  res.writeHead(status, headers);
  if (CONTINUED.has(res)) res.flushHeaders();
}
