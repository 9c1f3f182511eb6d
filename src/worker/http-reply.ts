/**
 * What every HTTP answer of node:http's path shares: the headers that make an echoed body safe
 * in a browser, the short texts of answers that close the connection, and which requests are
 * answered with a JSON description.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { wantsJson } from "./describe-request.ts";

/** The answer to a request our code failed on (500), on node:http's path and the fast path. */
export const FAILED_TEXT = "internal error; this connection is closed\n";
/** Sent with every answer: never sniff an echoed body, never run it as a page (no scripts). */
export const SAFE = ["x-content-type-options", "nosniff", "content-security-policy", "sandbox"];

/** Answer `status` with a short text and close the connection. */
export function closeWith(res: ServerResponse, status: number, text: string, extra: string[] = []) {
  // HTTP/2 has no Connection header: the stream ends, the connection goes on.
  const close = res.req?.httpVersionMajor === 2 ? [] : ["connection", "close"];
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
}

/** Is the answer to `req` a JSON description (GET, HEAD, or asked for), whatever its body? */
export function describes(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || wantsJson(req);
}
