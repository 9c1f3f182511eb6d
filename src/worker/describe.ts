/**
 * The JSON an HTTP echo answers GET (or ?format=json, or Accept: application/json) with: what the
 * request looked like when it reached this server, and which worker served it. The fields follow
 * the echo servers people point ingresses and load balancers at.
 */
import type { IncomingMessage } from "node:http";
import { hostname } from "node:os";
import type { TLSSocket } from "node:tls";

const HOST = hostname();

export interface Served {
  readonly worker: number;
  readonly pid: number;
}

export function describe(req: IncomingMessage, body: Buffer | undefined, by: Served): string {
  const url = new URL(req.url ?? "/", "http://echoplex.invalid");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  const socket = req.socket;
  return `${JSON.stringify({
    method: req.method,
    url: req.url,
    path: url.pathname,
    query,
    httpVersion: req.httpVersion,
    headers: req.headers,
    protocol: (socket as TLSSocket).encrypted === true ? "https" : "http",
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    bodyLength: body?.length ?? 0,
    body: body?.toString("utf8"),
    hostname: HOST,
    pid: by.pid,
    worker: by.worker,
  })}\n`;
}

/** Did the client ask for JSON (?format=json or Accept: application/json)? */
export function wantsJson(req: IncomingMessage): boolean {
  const url = req.url ?? "";
  // Cheap test first: only URLs that mention it are parsed.
  if (url.includes("format=json") && new URL(url, "http://x").searchParams.get("format") === "json")
    return true;
  return req.headers.accept?.includes("application/json") === true;
}
