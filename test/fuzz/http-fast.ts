/**
 * Requests near the HTTP fast path's edge (src/worker/http/fast-head.ts): POST, PUT and PATCH with
 * small Content-Length bodies, content types, Connection and Accept values, odd targets, and the
 * same with the details the fast path must hand to node:http (duplicate or signed lengths,
 * Transfer-Encoding, Expect, obs-fold, bare CR or LF, HTTP/1.0, lowercase methods); pipelined,
 * mixed with the general generator's requests, and mutated.
 */
import fc from "fast-check";
import { request } from "./http.ts";
import { mutated } from "./mutate.ts";

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("POST", "PUT", "PATCH") },
  { weight: 1, arbitrary: fc.constantFrom("GET", "DELETE", "post", "POST ", "PATCHX", "OPTIONS") },
);
const target = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("/", "/echo", "/a/b?c=d", "/x?y", "/%20", "/~u") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "/?format=json",
      "/?echo_status=201",
      "/a?x=1&echo_header=X-A:1",
      "/?echo_bytes=3",
      "*",
      "http://a/x",
      '/"q"',
      "/a b",
      "/#f",
      "/\u00e9",
    ),
  },
);
const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/1.2", "http/1.1") },
);
const type = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom("text/plain", "application/octet-stream", "", "a/b; charset=utf-8"),
  },
  { weight: 1, arbitrary: fc.constantFrom("x\ty", " padded ", "a\u00e9") },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 20 }) },
);
const extra = fc.constantFrom(
  "Connection: close\r\n",
  "Connection: keep-alive\r\n",
  "Connection: Keep-Alive\r\n",
  "Connection: upgrade\r\n",
  "Accept: application/json\r\n",
  "Accept: */*\r\n",
  "Expect: 100-continue\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Upgrade: websocket\r\n",
  "Trailer: x\r\n",
  "X-A: 1\r\n",
  "X-B:\r\n",
  "X-C:  spaced  \r\n",
  "X-D: a\r\n b\r\n",
  "X-E : 1\r\n",
  "X-F: a\rb\r\n",
  "X-G: a\nb\r\n",
  "Content-Type: dup\r\n",
  "X-Echo-Status: 202\r\n",
  "x-echo-chunks: 2\r\n",
);
/** How the body's length is announced, given its real length. */
const length = fc.constantFrom(
  (n: number) => `Content-Length: ${n}\r\n`,
  (n: number) => `Content-Length: ${n}\r\n`,
  (n: number) => `Content-Length: ${n}\r\n`,
  (n: number) => `Content-Length: 0${n}\r\n`,
  (n: number) => `Content-Length: +${n}\r\n`,
  (n: number) => `Content-Length: ${n}\r\nContent-Length: ${n}\r\n`,
  (n: number) => `Content-Length:  ${n} \r\n`,
  (n: number) => `content-LENGTH: ${n}\r\n`,
  (_n: number) => "",
);

/** One request near the fast path's edge. */
export const nearFast: fc.Arbitrary<Buffer> = fc
  .record({
    method,
    target,
    version,
    type: fc.option(type),
    extras: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.array(extra, { maxLength: 2 }) },
    ),
    length,
    body: fc.oneof(
      { weight: 6, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 4000, maxLength: 4200 }) },
      { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    ),
  })
  .map((r) =>
    Buffer.concat([
      Buffer.from(
        `${r.method} ${r.target} ${r.version}\r\nHost: a\r\n${r.type === null ? "" : `Content-Type: ${r.type}\r\n`}${r.extras.join("")}${r.length(r.body.length)}\r\n`,
        "latin1",
      ),
      Buffer.from(r.body),
    ]),
  );

/** A request the fast path answers: the common case, with its few variations. */
const clean: fc.Arbitrary<Buffer> = fc
  .record({
    method: fc.constantFrom("POST", "PUT", "PATCH"),
    target: fc.constantFrom("/", "/echo", "/a/b?c=d"),
    type: fc.option(fc.constantFrom("text/plain", "application/octet-stream", "")),
    connection: fc.constantFrom("", "", "", "Connection: keep-alive\r\n", "Connection: close\r\n"),
    body: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  })
  .map((r) =>
    Buffer.concat([
      Buffer.from(
        `${r.method} ${r.target} HTTP/1.1\r\nHost: a\r\n${r.type === null ? "" : `Content-Type: ${r.type}\r\n`}${r.connection}Content-Length: ${r.body.length}\r\n\r\n`,
        "latin1",
      ),
      Buffer.from(r.body),
    ]),
  );

/** What goes on one connection: 1 to 4 requests, mostly near the fast path, some mutated. */
export const fastStream: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: clean },
      { weight: 6, arbitrary: nearFast },
      { weight: 2, arbitrary: mutated(nearFast) },
      { weight: 1, arbitrary: request },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((requests) => Buffer.concat(requests));
