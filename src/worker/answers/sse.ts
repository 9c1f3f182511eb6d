/**
 * Server-sent events: `GET /sse?count=N&interval=MS` sends N events, MS apart (10 at least; the first at
 * once), each `id: n` and `data: {"n":n,"time":"<ISO 8601>"}`, then ends; `count=0` goes on
 * until the client leaves, the server drains, or --max-delay has passed. An event is skipped,
 * not queued, while the client has not taken the one before: a client that does not read costs
 * one event. Its timer is a Timed's (timed.ts): it stops when the client goes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Timed } from "./timed.ts";

export interface SseLimits {
  readonly maxDelayMs: number;
}

const MAX_COUNT = 1_000_000;
/**
 * The shortest interval: each stream ticks on a timer whether or not its client reads, so an
 * interval of 0 would let each connection cost a millisecond timer of CPU for as long as it lasts.
 */
const MIN_INTERVAL_MS = 10;

/** Is `req` a request for the event stream? */
export function isSse(req: IncomingMessage): boolean {
  const url = req.url ?? "";
  return (
    (req.method === "GET" || req.method === "HEAD") &&
    url.startsWith("/sse") &&
    (url.length === 4 || url[4] === "?")
  );
}

/** The stream's parameters, or the 400's text. */
export function sseParams(
  req: IncomingMessage,
  l: SseLimits,
): { count: number; intervalMs: number } | string {
  const url = req.url ?? "";
  const q = new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : "");
  const read = (name: string, min: number, max: number, fallback: number): number | string => {
    const v = q.get(name);
    if (v === null) return fallback;
    const n = Number(v);
    return /^\d{1,15}$/.test(v) && n >= min && n <= max
      ? n
      : `${name}: '${v}' is not an integer from ${min} to ${max}`;
  };
  const count = read("count", 0, MAX_COUNT, 10);
  const longest = Math.max(MIN_INTERVAL_MS, l.maxDelayMs);
  const intervalMs = read("interval", MIN_INTERVAL_MS, longest, 1000);
  if (typeof count === "string") return count;
  if (typeof intervalMs === "string") return intervalMs;
  if (count > 0 && (count - 1) * intervalMs > l.maxDelayMs)
    return `count x interval is over --max-delay (${l.maxDelayMs} ms): ask for fewer events, or count=0 to stream until you leave`;
  return { count, intervalMs };
}

/**
 * Stream events to `res` with `headers` (name, value pairs) added, on `timed`'s timer;
 * `draining()` ends an endless stream at its next event. `maxDelayMs` ends it at the latest.
 */
export function streamEvents(
  res: ServerResponse,
  p: { count: number; intervalMs: number },
  headers: readonly string[],
  draining: () => boolean,
  timed: Timed,
  maxDelayMs: number,
): void {
  res.writeHead(200, [
    "content-type",
    "text/event-stream",
    "cache-control",
    "no-cache",
    // nginx buffers answers unless told not to: events must reach the client as they are sent.
    "x-accel-buffering",
    "no",
    ...headers,
  ]);
  if (res.req.method === "HEAD") {
    res.end();
    timed.stop();
    return;
  }
  // count=0: as many as fit in --max-delay (the first is sent at once).
  const last = p.count > 0 ? p.count : Math.floor(maxDelayMs / p.intervalMs) + 1;
  let n = 0;
  const tick = (): void => {
    if (p.count === 0 && draining()) {
      timed.stop();
      res.end();
      return;
    }
    n++;
    // The client has not taken the last event: skip this one (its number shows the gap).
    if (!res.writableNeedDrain)
      res.write(`id: ${n}\ndata: {"n":${n},"time":"${new Date().toISOString()}"}\n\n`);
    if (n >= last) {
      timed.stop();
      res.end();
    }
  };
  tick();
  if (n < last && !res.writableEnded) timed.after(p.intervalMs, tick, true);
}
