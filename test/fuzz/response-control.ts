/**
 * Response control from its whole grammar (issues 23, 25): every parameter (echo_status, _delay,
 * _header, _bytes, _chunks, _interval, _close, _reset; weighted lists with percents and
 * durations with units; /sse count and interval), from the query or as x-echo-*
 * headers; header names from the lists that matter (HTTP/2's single-value and connection-specific
 * fields, what a browser acts on, CORS, framing) in any case, repeated, with inert and active
 * content types and broken values; statuses 100 to 999; several at once. Each case goes over
 * HTTP/1.1 (raw bytes, pipelined) or HTTP/2 (node:http2, waiting for every answer: that is where
 * a header node:http2 refuses used to end the worker).
 */
import { connect as h2Connect } from "node:http2";
import { connect } from "node:net";
import fc from "fast-check";
import { HOST } from "../helpers/client.ts";
import type { RunningServer } from "../helpers/server.ts";
import { CASE_MS, sendAndClose } from "./surface.ts";

const SINGLE_H2 = ["Location", "ETag", "Age", "Content-Type", "Date", "Expires", "Retry-After"];
const CONNECTION = ["Connection", "Keep-Alive", "HTTP2-Settings", "TE", "Upgrade", "Trailer"];
const FRAMING = ["Content-Length", "Transfer-Encoding", "Proxy-Connection"];
const ACTIVE = [
  "Set-Cookie",
  "Content-Security-Policy",
  "X-Content-Type-Options",
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Credentials",
  "Cross-Origin-Resource-Policy",
  "Refresh",
  "Link",
  "Clear-Site-Data",
  "Strict-Transport-Security",
];
const PLAIN = ["X-A", "Cache-Control", "Vary", "Server", "WWW-Authenticate", "Content-Disposition"];
const TYPES = [
  "text/plain",
  "application/json",
  "application/problem+json",
  "image/png",
  "text/html",
  "TEXT/HTML; charset=utf-8",
  "image/svg+xml",
  "application/javascript",
  "text/xml",
  "application/xhtml+xml",
  "multipart/x-mixed-replace",
  "",
];

/** A header name in any case, sometimes with stray spaces (trimmed by the server) or invalid. */
const headerName = fc
  .tuple(
    fc.constantFrom(...SINGLE_H2, ...CONNECTION, ...FRAMING, ...ACTIVE, ...PLAIN, ":status", "X A"),
    fc.constantFrom("as is", "lower", "upper"),
  )
  .map(([n, c]) => (c === "lower" ? n.toLowerCase() : c === "upper" ? n.toUpperCase() : n));

const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("1", "a", "x=y; Domain=example.com", "*", "true") },
  { weight: 3, arbitrary: fc.constantFrom(...TYPES) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "a\u0000b", "a\r\nX-Injected: 1", "é") },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** One header spec, repeated 1 to 3 times (repeats are what HTTP/2 refuses for some fields). */
const headerSpecs = fc
  .tuple(headerName, headerValue, headerValue, fc.integer({ min: 1, max: 3 }))
  .map(([n, a, b, times]) => Array.from({ length: times }, (_, i) => `${n}:${i === 0 ? a : b}`));

const status = fc.oneof(
  fc.integer({ min: 100, max: 999 }).map(String),
  fc.constantFrom("100", "101", "102", "103", "204", "205", "304", "599", "600", "0", "x", ""),
);
/** Short delays: a case must finish within CASE_MS; long ones are a 400 (over --max-delay). */
const ms = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom("501", "2001", "99999999999", "-1", "1e3", "0x10") },
);

/** A percent as a client may write it: in range, out of it, with decimals or a %, or broken. */
const percent = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 100 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom("0.5", "33.333", "10%", "100", "true", "false") },
  { weight: 1, arbitrary: fc.constantFrom("101", "-1", "1e2", "", "x", "50.1234567", "NaN") },
);
/** Durations with fortio's units (short: a case must finish within CASE_MS), and broken ones. */
const duration = fc.oneof(
  { weight: 4, arbitrary: ms },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 30 }).map((n) => `${n}ms`) },
  { weight: 2, arbitrary: fc.constantFrom("150us", "0.01s", "0s", "1.5ms") },
  { weight: 1, arbitrary: fc.constantFrom("2s", "1m", "5 ms", "ms", "1.s", "9999999999s") },
);
/** A weighted list (`503:10,429:5`): values with their percents, sometimes summing over 100. */
const listOf = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: value },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.tuple(value, percent), { minLength: 1, maxLength: 4 })
        .map((vs) => vs.map(([v, p]) => `${v}:${p}`).join(",")),
    },
    {
      weight: 1,
      arbitrary: fc.array(value, { minLength: 2, maxLength: 3 }).map((vs) => vs.join(",")),
    },
  );

type Param = readonly [string, string];
const param: fc.Arbitrary<Param[]> = fc.oneof(
  listOf(status).map((v) => [["status", v] as const]),
  listOf(duration).map((v) => [["delay", v] as const]),
  percent.map((v) => [["close", v] as const]),
  percent.map((v) => [["reset", v] as const]),
  ms.map((v) => [["interval", v] as const]),
  fc.integer({ min: 0, max: 6 }).map((v) => [["chunks", String(v)] as const]),
  fc
    .oneof(fc.integer({ min: 0, max: 70_000 }), fc.constant(-1))
    .map((v) => [["bytes", String(v)] as const]),
  headerSpecs.map((specs) => specs.map((s) => ["header", s] as const)),
);

export interface ControlCase {
  readonly h2: boolean;
  readonly requests: readonly {
    readonly sse: boolean;
    readonly method: "GET" | "POST" | "HEAD";
    /** In the query (percent-encoded) or as x-echo-* headers. */
    readonly query: readonly Param[];
    readonly headers: readonly Param[];
  }[];
}

const oneRequest = fc.record({
  sse: fc.oneof(
    { weight: 9, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  method: fc.constantFrom("GET", "POST", "HEAD") as fc.Arbitrary<"GET" | "POST" | "HEAD">,
  query: fc.array(param, { maxLength: 4 }).map((ps) => ps.flat()),
  headers: fc.array(param, { maxLength: 3 }).map((ps) => ps.flat()),
});

export const controlCases: fc.Arbitrary<ControlCase> = fc.record({
  h2: fc.boolean(),
  requests: fc.array(oneRequest, { minLength: 1, maxLength: 3 }),
});

function target(r: ControlCase["requests"][number]): string {
  if (r.sse) {
    const q = r.query.map(([k, v]) => `${k === "chunks" ? "count" : k}=${encodeURIComponent(v)}`);
    return `/sse?${q.join("&")}`;
  }
  return `/?${r.query.map(([k, v]) => `echo_${k}=${encodeURIComponent(v)}`).join("&")}`;
}

/** HTTP/1.1: every request in one write, x-echo-* headers as raw bytes (invalid ones too). */
function http1(port: number, c: ControlCase): Promise<void> {
  const text = c.requests
    .map((r) => {
      const headers = r.headers.map(([k, v]) => `x-echo-${k}: ${v.replace(/[\r\n]/g, "")}\r\n`);
      const body = r.method === "POST" ? "hi" : "";
      const length = r.method === "POST" ? "Content-Length: 2\r\n" : "";
      return `${r.method} ${target(r)} HTTP/1.1\r\nHost: a\r\n${headers.join("")}${length}\r\n${body}`;
    })
    .join("");
  return sendAndClose(connect({ host: HOST, port }), [Buffer.from(text, "latin1")]);
}

/** HTTP/2: one session, every request waited for (answered, reset or refused by our client). */
async function http2(port: number, c: ControlCase): Promise<void> {
  const session = h2Connect(`http://${HOST}:${port}`);
  session.on("error", () => {});
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    session.destroy();
  }, CASE_MS);
  try {
    await Promise.all(
      c.requests.map(
        (r) =>
          new Promise<void>((resolve) => {
            const headers: Record<string, string | string[]> = {
              ":method": r.method,
              ":path": target(r),
            };
            for (const [k, v] of r.headers) {
              const name = `x-echo-${k}`;
              const had = headers[name];
              headers[name] = had === undefined ? v : [...([] as string[]).concat(had), v];
            }
            let req: ReturnType<typeof session.request>;
            try {
              req = session.request(headers, { endStream: r.method !== "POST" });
            } catch {
              resolve(); // our client refused the header: nothing was sent
              return;
            }
            req.on("error", () => resolve());
            req.on("close", () => resolve());
            req.resume();
            if (r.method === "POST") req.end("hi");
          }),
      ),
    );
    if (late) throw new Error(`not answered within ${CASE_MS} ms`);
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

export function sendControlCase(server: RunningServer, c: ControlCase): Promise<void> {
  const port = server.listening.http as number;
  return c.h2 ? http2(port, c) : http1(port, c);
}
