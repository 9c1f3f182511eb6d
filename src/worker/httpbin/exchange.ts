/**
 * One request to an httpbin endpoint and the ways to answer it. Every answer goes out with the
 * echo's own headers (nosniff, the sandboxing CSP, `connection: close` while draining, CORS with
 * --cors on) and its bytes held against the loop's --http-buffer share until it is sent.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dice } from "../answers/injected.ts";
import type { Timed } from "../answers/timed.ts";

/** What the HTTP echo lends the httpbin endpoints (echo.ts). */
export interface HttpbinHost {
  /** The headers every answer to `req` carries. */
  common(req: IncomingMessage): string[];
  /** Hold `n` more bytes for `res`, or answer 503 (the loop is full) and return false. */
  hold(res: ServerResponse, n: number): boolean;
  /** The owner of a delayed or paced answer's timers, or null having answered 503. */
  begin(res: ServerResponse): Timed | null;
  /** Our own exception: 500 (or a cut answer), counted; never throws. */
  fail(res: ServerResponse, err: unknown): void;
  readonly dice: Dice;
  readonly maxDelayMs: number;
  /** --unsafe-responses on: /response-headers may set headers a browser acts on. */
  readonly unsafeResponses: boolean;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The route's path parameters, percent-decoded. */
  readonly params: readonly string[];
  readonly body: Buffer | undefined;
  readonly host: HttpbinHost;
}

export const JSON_TYPE = "application/json";
/** httpbin's text answers are text/html; ours are plain text: a browser renders none of them. */
export const TEXT_TYPE = "text/plain; charset=utf-8";
export const BYTES_TYPE = "application/octet-stream";

/** Statuses whose answers have no body. */
const NO_BODY = new Set([204, 304]);

/**
 * Answer `status` with `body` of `type` (undefined: no content-type) and the `extra` headers
 * (name, value pairs). The body's bytes are held until the answer closes.
 */
export function send(
  x: Exchange,
  status: number,
  type: string | undefined,
  body: string | Buffer,
  extra: readonly string[] = [],
): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const empty = NO_BODY.has(status);
  if (!empty && !x.host.hold(x.res, bytes.length)) return;
  const h = type === undefined ? [] : ["content-type", type];
  if (!empty) h.push("content-length", String(bytes.length));
  h.push(...extra, ...x.host.common(x.req));
  x.res.writeHead(status, h);
  if (empty) x.res.end();
  else x.res.end(bytes);
}

/** A JSON answer, as httpbin's jsonify writes it (a newline at the end). */
export function json(x: Exchange, value: unknown, status = 200, extra: readonly string[] = []) {
  send(x, status, JSON_TYPE, `${JSON.stringify(value)}\n`, extra);
}

/** A short plain-text answer. */
export function text(x: Exchange, status: number, body: string, extra: readonly string[] = []) {
  send(x, status, TEXT_TYPE, body, extra);
}

/** A parameter out of range: 400, and what to send instead. */
export function bad(x: Exchange, why: string): void {
  text(x, 400, `${why}\n`);
}

/** A query parameter, its name matched without case as httpbin's CaseInsensitiveDict does. */
export function param(query: URLSearchParams, name: string): string | undefined {
  for (const [key, value] of query) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** A whole number as Python's int() reads one (spaces, a sign), or NaN. */
export function int(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return /^\s*[+-]?\d{1,15}\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** A number as Python's float() reads a plain one, or NaN. */
export function float(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return /^\s*[+-]?(\d{1,15}(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : Number.NaN;
}
