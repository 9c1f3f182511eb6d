/**
 * httpbin's endpoints that make up their answer's bytes or its timing: /bytes/{n} and
 * /stream-bytes/{n} (random, or seeded: the same seed gives the same bytes, though not Python's),
 * /stream/{n} (JSON lines), /range/{n} (a-z, honouring Range), /drip and /delay/{s}. Sizes are
 * httpbin's caps (100 KiB; /drip 10 MiB, paced in at most 1,000 writes); every wait is within
 * --max-delay and runs on a timer owned by the loop's timed answers (timed.ts), which ends it when
 * its client goes.
 */
import { randomBytes } from "node:crypto";
import { answer } from "../answers/answer.ts";
import type { Control } from "../answers/control.ts";
import { Dice } from "../answers/injected.ts";
import { splitTarget } from "../http/describe-request.ts";
import { writeHeadInOrder } from "../http/reply.ts";
import {
  BYTES_TYPE,
  bad,
  type Exchange,
  float,
  int,
  JSON_TYPE,
  param,
  send,
  text,
} from "./exchange.ts";
import { withBody } from "./inspect.ts";
import { args, header, headers, origin, url } from "./request-view.ts";

const MAX_BYTES = 100 * 1024;
const MAX_DRIP = 10 * 1024 * 1024;
/** The most writes a paced answer makes (its pieces, a timer each). */
const MAX_PIECES = 1_000;
const STARS = Buffer.alloc(64 * 1024, "*");
const NONE = Buffer.alloc(0);

function query(x: Exchange): URLSearchParams {
  return new URLSearchParams(splitTarget(x.req.url ?? "/").query);
}

/** `n` bytes: seeded (the loop's mulberry32 from `seed`) or from the system's random source. */
function random(x: Exchange, n: number): Buffer | null {
  const seed = param(query(x), "seed");
  if (seed === undefined) return randomBytes(n);
  const s = int(seed, Number.NaN);
  if (Number.isNaN(s)) {
    bad(x, "seed is a whole number");
    return null;
  }
  const dice = new Dice(s);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(dice.roll() * 2.56);
  return out;
}

/** /bytes/{n}: n random bytes (at most 100 KiB), with a Content-Length. */
export function bytes(x: Exchange): void {
  const body = random(x, Math.min(Number(x.params[0]), MAX_BYTES));
  if (body !== null) send(x, 200, BYTES_TYPE, body);
}

/** A chunked answer written at once, a piece per write. */
function chunked(x: Exchange, type: string, pieces: readonly (string | Buffer)[]): void {
  const total = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
  if (!x.host.hold(x.res, total)) return;
  writeHeadInOrder(x.res, 200, ["content-type", type, ...x.host.common(x.req)]);
  for (const p of pieces) x.res.write(p);
  x.res.end();
}

/** /stream-bytes/{n}?chunk_size=C: n random bytes (at most 100 KiB) in chunks of C (10 KiB). */
export function streamBytes(x: Exchange): void {
  const n = Math.min(Number(x.params[0]), MAX_BYTES);
  const size = int(param(query(x), "chunk_size"), 10 * 1024);
  if (Number.isNaN(size)) {
    bad(x, "chunk_size is a whole number");
    return;
  }
  const body = random(x, n);
  if (body === null) return;
  const step = Math.max(1, size, Math.ceil(n / MAX_PIECES));
  const pieces: Buffer[] = [];
  for (let at = 0; at < n; at += step) pieces.push(body.subarray(at, at + step));
  chunked(x, BYTES_TYPE, pieces);
}

/** /stream/{n}: n (at most 100) JSON lines, each /get's description with its id. */
export function stream(x: Exchange): void {
  const n = Math.min(Number(x.params[0]), 100);
  const view = {
    url: url(x.req),
    args: args(x.req),
    headers: headers(x.req),
    origin: origin(x.req),
  };
  const lines: string[] = [];
  for (let id = 0; id < n; id++) lines.push(`${JSON.stringify({ ...view, id })}\n`);
  chunked(x, JSON_TYPE, lines);
}

/**
 * A paced answer (answer.ts): `body` (or `size` stars) in up to 1,000 pieces over `spreadMs`,
 * after `delayMs`, with a Content-Length however many pieces it goes in.
 */
function paced(
  x: Exchange,
  status: number,
  headers: readonly string[],
  body: Buffer | null,
  size: number,
  delayMs: number,
  spreadMs: number,
): void {
  const empty = status === 204 || status === 304;
  const pieces = spreadMs > 0 && !empty ? Math.min(size, MAX_PIECES) : 1;
  const c: Control = {
    status,
    interim: 0,
    delayMs,
    headers: [],
    bytes: body === null ? size : -1,
    fill: STARS,
    chunks: pieces,
    intervalMs: pieces > 1 ? spreadMs / pieces : 0,
    close: false,
    reset: false,
    injected: [],
  };
  // answer() gives a single piece its Content-Length; more pieces get it here.
  const length = pieces > 1 ? ["content-length", String(size)] : [];
  const timed = delayMs > 0 || pieces > 1 ? x.host.begin(x.res) : null;
  if ((delayMs > 0 || pieces > 1) && timed === null) return;
  answer(x.res, c, [...headers, ...length, ...x.host.common(x.req)], body ?? NONE, timed);
}

/** `text` seconds (`fallback` when absent) within --max-delay, as milliseconds, or NaN having answered 400. */
function seconds(x: Exchange, name: string, text: string | undefined, fallback: number): number {
  return within(x, name, float(text, fallback));
}

/** `s` seconds within --max-delay, as milliseconds, or NaN having answered 400. */
function within(x: Exchange, name: string, s: number): number {
  const ms = Math.round(s * 1000);
  if (!(s >= 0) || ms > x.host.maxDelayMs) {
    bad(x, `${name} is seconds from 0 to --max-delay (${x.host.maxDelayMs / 1000})`);
    return Number.NaN;
  }
  return ms;
}

/** /drip?numbytes=N&duration=S&delay=S&code=C: N stars over S seconds, after a delay. */
export function drip(x: Exchange): void {
  const q = query(x);
  const n = Math.min(int(param(q, "numbytes"), 10), MAX_DRIP);
  const code = int(param(q, "code"), 200);
  if (!(n > 0)) {
    bad(x, "number of bytes must be positive");
    return;
  }
  if (!(code >= 200 && code <= 599)) {
    bad(x, "code is a status from 200 to 599");
    return;
  }
  const delayMs = seconds(x, "delay", param(q, "delay"), 0);
  const durationMs = Number.isNaN(delayMs) ? 0 : seconds(x, "duration", param(q, "duration"), 2);
  if (Number.isNaN(delayMs) || Number.isNaN(durationMs)) return;
  if (delayMs + durationMs > x.host.maxDelayMs) {
    bad(x, `delay + duration is over --max-delay (${x.host.maxDelayMs / 1000} s)`);
    return;
  }
  paced(x, code, ["content-type", BYTES_TYPE], null, n, delayMs, durationMs);
}

/** /delay/{s}: /post's description (no json) after s seconds (at most 10, as httpbin). */
export function delay(x: Exchange): void {
  const ms = within(x, "delay", Math.min(float(x.params[0], Number.NaN), 10));
  if (Number.isNaN(ms)) return;
  const timed = x.host.begin(x.res);
  if (timed === null) return;
  timed.after(ms, () => {
    timed.stop();
    withBody(x, false, false).catch((err: unknown) => x.host.fail(x.res, err));
  });
}

/** A Range header's first and last byte (httpbin's get_request_range, one range). */
function range(value: string | undefined, n: number): [number, number] {
  let left: number | null = null;
  let right: number | null = null;
  const spec = (value ?? "").trim();
  const parts = spec.startsWith("bytes") ? spec.split("=") : [];
  if (parts.length === 2) {
    const ends = (parts[1] as string).split("-");
    const l = int(ends[0], Number.NaN);
    const r = int(ends[1], Number.NaN);
    left = Number.isNaN(l) ? null : l;
    right = Number.isNaN(r) ? null : r;
  }
  if (left === null && right === null) return [0, n - 1];
  if (left === null) return [Math.max(0, n - (right as number)), n - 1];
  return [left, right ?? n - 1];
}

/** /range/{n}: n bytes of a-z (at most 100 KiB), the part a Range asks for (206), paced by ?duration. */
export function rangeOf(x: Exchange): void {
  const n = Number(x.params[0]);
  const tag = ["etag", `range${n}`, "accept-ranges", "bytes"];
  if (n <= 0 || n > MAX_BYTES) {
    text(x, 404, "number of bytes must be in the range (0, 102400]", tag);
    return;
  }
  const q = query(x);
  const durationMs = seconds(x, "duration", param(q, "duration"), 0);
  if (Number.isNaN(durationMs)) return;
  const [first, last] = range(header(x.req, "range"), n);
  if (first > last || first < 0 || first >= n || last < 0 || last >= n) {
    text(x, 416, "", [...tag, "content-range", `bytes */${n}`]);
    return;
  }
  const body = Buffer.allocUnsafe(last + 1 - first);
  for (let i = first; i <= last; i++) body[i - first] = 0x61 + (i % 26);
  if (!x.host.hold(x.res, body.length)) return;
  const headers = [
    "content-type",
    BYTES_TYPE,
    ...tag,
    "content-range",
    `bytes ${first}-${last}/${n}`,
  ];
  const status = first === 0 && last === n - 1 ? 200 : 206;
  paced(x, status, headers, body, body.length, 0, (durationMs * body.length) / n);
}
