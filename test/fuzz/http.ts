/**
 * Generated HTTP/1.1 requests: methods, request-targets (origin, absolute and authority forms,
 * `*`, percent-encodings, huge, empty), versions, header names and values (duplicates, invalid
 * characters, obs-fold, bare CR or LF), framing (Content-Length variants, Transfer-Encoding
 * lists, chunk sizes and extensions, CL+TE), bodies with ?format=json and Accept JSON, Expect,
 * Upgrade, and pipelined mixtures; and mutations of valid requests.
 */
import fc from "fast-check";
import { mutated } from "./mutate.ts";

const token = fc.string({
  unit: fc.constantFrom(..."!#$%&'*+-.^_`|~abcdefgXYZ0129"),
  minLength: 1,
  maxLength: 12,
});
const anyText = (maxLength: number) => fc.string({ unit: "binary-ascii", maxLength });
const latin1 = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString("latin1"));

const method = fc.oneof(
  fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"),
  fc.constantFrom("get", "PRI", "SEARCH", "M-SEARCH", "PROPFIND", "QUERY", ""),
  token,
);

const pct = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, "0")}`),
  fc.constantFrom("%", "%z", "%zz", "%E0%A4%A", "%00", "%C0%AF", "%2F", "%3F", "%23"),
);
const segment = fc
  .array(fc.oneof(token, pct, fc.constantFrom(".", "..", "", "~", ";", "=", "&", "@", ":")), {
    maxLength: 4,
  })
  .map((p) => p.join(""));
const query = fc
  .array(
    fc.oneof(
      fc.tuple(segment, segment).map(([k, v]) => `${k}=${v}`),
      fc.constantFrom(
        "format=json",
        "format=JSON",
        "format=",
        "format=json&format=xml",
        "a",
        "=",
        "&&",
      ),
    ),
    { maxLength: 4 },
  )
  .map((q) => q.join("&"));
const originPath = fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join("/")}`);
const origin = fc
  .tuple(originPath, fc.option(query), fc.option(segment))
  .map(([p, q, h]) => `${p}${q === null ? "" : `?${q}`}${h === null ? "" : `#${h}`}`);
const port = fc.oneof(fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 65_536, max: 1e9 }));
const host = fc.oneof(
  token,
  fc.constantFrom("[::1]", "[::1", "127.0.0.1", "a..b", "", "xn--", "@"),
);
const absolute = fc
  .tuple(
    fc.constantFrom("http", "https", "HTTP", "ws", "x", "a+b.c-d"),
    host,
    fc.option(port),
    origin,
  )
  .map(([s, h, p, o]) => `${s}://${h}${p === null ? "" : `:${p}`}${o}`);
const authority = fc.tuple(host, port).map(([h, p]) => `${h}:${p}`);

/** Response control and server-sent events (issue 14): their parameters, in range and not. */
export const controlValue = fc.constantFrom(
  "0",
  "1",
  "5",
  "20",
  "100",
  "102",
  "103",
  "101",
  "204",
  "304",
  "599",
  "600",
  "10001",
  "99999999",
  "-1",
  "x",
  "1e2",
  " 7",
  "",
  "X-A:1",
  "Connection:close",
  "Content-Length:0",
  "X-A:a%0d%0ab",
  ":",
);
export const control = fc
  .array(
    fc.tuple(
      fc.constantFrom("status", "delay", "header", "bytes", "chunks", "interval", "count"),
      controlValue,
    ),
    { minLength: 1, maxLength: 4 },
  )
  .chain((params) =>
    fc
      .constantFrom("/", "/sse", "/x")
      .map(
        (path) =>
          `${path}?${params.map(([k, v]) => `${path === "/sse" ? "" : "echo_"}${k}=${v}`).join("&")}`,
      ),
  );

const target = fc.oneof(
  { weight: 2, arbitrary: control },
  { weight: 5, arbitrary: origin },
  { weight: 2, arbitrary: absolute },
  { weight: 1, arbitrary: authority },
  {
    weight: 1,
    arbitrary: fc.constantFrom("*", "", "//", "///", "//x:99999/", "/?", "?", "#", "/%", "\\"),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => `/${"a".repeat(n)}`) },
  { weight: 1, arbitrary: latin1(40).map((s) => `/${s}`) },
);

const version = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("HTTP/1.1") },
  {
    weight: 2,
    arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9"),
  },
  { weight: 1, arbitrary: fc.constantFrom("http/1.1", "HTTP/1.x", "HTTP/", "", "HTTP/1.1 x") },
);

const headerName = fc.oneof(
  fc.constantFrom(
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Expect",
    "Upgrade",
    "Connection",
    "Accept",
    "Content-Type",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Keep-Alive",
    "TE",
    "Trailer",
    "X-Echo-Status",
    "X-Echo-Delay",
    "X-Echo-Header",
    "X-Echo-Bytes",
    "X-Echo-Chunks",
    "Origin",
    "Access-Control-Request-Method",
  ),
  token,
  fc.constantFrom("", " Host", "Host ", "Ho st", "Hóst", "X\u0000"),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    "chunked",
    "gzip, chunked",
    "chunked, gzip",
    "identity",
    "chunked,chunked",
    " chunked",
    "0",
    "5",
    "-1",
    "+5",
    " 5",
    "5 ",
    "5,5",
    "5, 6",
    "1e3",
    "0x10",
    "99999999999999999999",
    "100-continue",
    "websocket",
    "h2c",
    "close",
    "keep-alive, Upgrade",
    "application/json",
    "text/html",
    "*/*",
    "",
  ),
  anyText(30),
  latin1(20),
  fc.constantFrom("a\r\n b", "a\r\n\tb", "a\rb", "a\nb", "a\u0000b", "a\u007fb"),
);
const header = fc.tuple(headerName, headerValue).map(([n, v]) => `${n}: ${v}\r\n`);

/** A chunked body: chunks with optional extensions and odd size lines, then a last chunk. */
const chunked = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.uint8Array({ maxLength: 64 }),
        fc.oneof(fc.constant(""), fc.constantFrom(";a=b", ";", "; ext", `;${"x".repeat(5000)}`)),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant(null) },
          fc.constantFrom("zz", "-1", "ffffffffffffffffff", " 1", "1 ", ""),
        ),
      ),
      { maxLength: 4 },
    ),
    fc.constantFrom("0\r\n\r\n", "0\r\nX-Trailer: 1\r\n\r\n", "0\r\n", "", "0;x\r\n\r\n"),
  )
  .map(([chunks, last]) =>
    Buffer.concat([
      ...chunks.flatMap(([data, ext, size]) => [
        Buffer.from(`${size ?? data.length.toString(16)}${ext}\r\n`, "latin1"),
        Buffer.from(data),
        Buffer.from("\r\n"),
      ]),
      Buffer.from(last, "latin1"),
    ]),
  );

/** Framing: what announces the body, and the body. */
const framing = fc.oneof(
  fc.constant({ headers: "", body: Buffer.alloc(0) }),
  fc.uint8Array({ maxLength: 9000 }).chain((b) =>
    fc.constantFrom(0, -1, 1, b.length * 2).map((delta) => ({
      headers: `Content-Length: ${b.length + (delta === b.length * 2 ? 0 : delta)}\r\n`,
      body: Buffer.from(b),
    })),
  ),
  chunked.map((body) => ({ headers: "Transfer-Encoding: chunked\r\n", body })),
  chunked.map((body) => ({
    headers: "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    body,
  })),
);

/** One generated request, as bytes. */
export const request: fc.Arbitrary<Buffer> = fc
  .record({
    method,
    target,
    version,
    host: fc.boolean(),
    json: fc.constantFrom("", "", "Accept: application/json\r\n"),
    headers: fc.array(header, { maxLength: 6 }),
    framing,
    lineEnd: fc.constantFrom("\r\n", "\r\n", "\r\n", "\n"),
  })
  .map((r) =>
    Buffer.concat([
      Buffer.from(
        `${r.method} ${r.target} ${r.version}${r.lineEnd}${r.host ? "Host: a\r\n" : ""}${r.json}${r.headers.join("")}${r.framing.headers}\r\n`,
        "latin1",
      ),
      r.framing.body,
    ]),
  );

/** Requests that node:http accepts, for mutation. */
const valid: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom("GET", "POST", "PUT", "HEAD"),
    origin,
    fc.uint8Array({ maxLength: 6000 }),
    fc.constantFrom("", "?format=json"),
    fc.boolean(),
  )
  .map(([m, p, body, q, isChunked]) =>
    Buffer.concat([
      Buffer.from(
        `${m} ${p}${q} HTTP/1.1\r\nHost: a\r\n${isChunked ? "Transfer-Encoding: chunked" : `Content-Length: ${body.length}`}\r\n\r\n`,
        "latin1",
      ),
      isChunked ? Buffer.from(`${body.length.toString(16)}\r\n`) : Buffer.alloc(0),
      Buffer.from(body),
      isChunked ? Buffer.from("\r\n0\r\n\r\n") : Buffer.alloc(0),
    ]),
  );

/** What goes on one connection: 1 to 3 pipelined requests, generated or mutated. */
export const httpStream: fc.Arbitrary<Buffer> = fc
  .array(fc.oneof({ weight: 3, arbitrary: request }, { weight: 2, arbitrary: mutated(valid) }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((requests) => Buffer.concat(requests));
