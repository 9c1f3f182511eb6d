/**
 * Requests from httpbin's grammar (src/worker/httpbin/routes.ts) for property tests and
 * `npm run fuzz -- --surface httpbin`: each endpoint's own shape, its parameters' names, values
 * in range and beyond it (0, negative, huge, not a number, escapes), the headers the endpoints
 * read (Range, If-None-Match, If-Match, Authorization, Content-Type), and now and then any name
 * with any segments.
 */
import type { ClientHttp2Session } from "node:http2";
import fc from "fast-check";
import { call, type H2Reply } from "../helpers/h2.ts";
import { once } from "../helpers/http.ts";

const int = fc.oneof(
  { arbitrary: fc.nat(200_000).map(String), weight: 1 },
  {
    arbitrary: fc.constantFrom("0", "1", "2", "-1", "1e3", "99999999999999999999", "x", "%31"),
    weight: 2,
  },
);
const num = fc.oneof(
  fc.double({ min: -1, max: 5, noNaN: true }).map(String),
  fc.constantFrom("", "nan", "inf", "1e309", "0.05"),
);
const segment = fc.oneof(
  int,
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.constantFrom("200:1,503:2", "418", "a,b", "200:-1", "600"),
);
// Each endpoint's own shape (routes.ts), with values from the grammar and beyond it; then,
// less often, any name with any segments.
const INT = [
  "bytes",
  "stream-bytes",
  "stream",
  "range",
  "redirect",
  "relative-redirect",
  "absolute-redirect",
  "cache",
];
const ONE = ["status", "delay", "base64", "etag", "anything"];
const TWO = ["basic-auth", "hidden-basic-auth"];
const NONE = [
  "get",
  "post",
  "put",
  "patch",
  "delete",
  "anything",
  "drip",
  "redirect-to",
  "bearer",
  "cookies",
  "cache",
  "response-headers",
  "gzip",
  "deflate",
  "headers",
  "ip",
  "uuid",
  "user-agent",
];
const shaped = fc.oneof(
  {
    arbitrary: fc.tuple(fc.constantFrom(...INT), int).map(([n, i]) => `/${n}/${i}`),
    weight: 3,
  },
  {
    arbitrary: fc.tuple(fc.constantFrom(...ONE), segment).map(([n, v]) => `/${n}/${v}`),
    weight: 3,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...TWO), segment, segment)
      .map(([n, u, p]) => `/${n}/${u}/${p}`),
    weight: 1,
  },
  { arbitrary: fc.constantFrom(...NONE).map((n) => `/${n}`), weight: 3 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...INT, ...ONE, ...TWO, ...NONE), fc.array(segment, { maxLength: 3 }))
      .map(([n, rest]) => `/${[n, ...rest].join("/")}`),
    weight: 1,
  },
);
const path = fc
  .tuple(
    shaped,
    fc.array(
      fc.tuple(
        fc.constantFrom(
          "seed",
          "chunk_size",
          "numbytes",
          "duration",
          "delay",
          "code",
          "url",
          "status_code",
          "absolute",
          "show_env",
          "X-A",
          "Content-Type",
        ),
        fc.oneof(int, num, fc.string({ maxLength: 8 })),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([p, query]) => `${p}${query.length ? "?" : ""}${new URLSearchParams(query).toString()}`);
// Mostly the method most endpoints take, so that requests get past the 405.
const method = fc.oneof(
  { arbitrary: fc.constant("GET"), weight: 6 },
  {
    arbitrary: fc.constantFrom("HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"),
    weight: 4,
  },
);
const headers = fc.record(
  {
    range: fc.constantFrom(
      "bytes=0-",
      "bytes=-3",
      "bytes=5-2",
      "bytes=a-b",
      "bytes=0-1,4-5",
      "items=1-2",
    ),
    "if-none-match": fc.constantFrom("*", '"a", W/"b"', ""),
    "if-match": fc.constantFrom("*", '"zz"'),
    authorization: fc.constantFrom("Bearer", "Bearer ", "Basic !!", "Basic dTpw", "Digest x"),
    "content-type": fc.constantFrom(
      "application/json",
      "multipart/form-data; boundary=b",
      "application/x-www-form-urlencoded",
    ),
  },
  { requiredKeys: [] },
);

export interface HttpbinRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /** Over HTTP/2 (else HTTP/1.1). */
  readonly h2: boolean;
}

export const httpbinRequest: fc.Arbitrary<HttpbinRequest> = fc.record({
  path,
  method,
  headers: headers as fc.Arbitrary<Record<string, string>>,
  body: fc.uint8Array({ maxLength: 64 }),
  h2: fc.boolean(),
});

/** Send `q` to `port` (HTTP/1.1, a connection of its own) or on `session` (HTTP/2). */
export function ask(
  port: number,
  session: ClientHttp2Session,
  q: HttpbinRequest,
): Promise<H2Reply> {
  const body = q.method === "GET" || q.method === "HEAD" ? undefined : Buffer.from(q.body);
  if (q.h2)
    // node:http2's client ends a DELETE's stream with its headers (no body).
    return call(session, q.path, q.method, q.method === "DELETE" ? undefined : body, q.headers);
  return once(port, {
    method: q.method,
    path: q.path,
    headers: q.headers,
    ...(body ? { body } : {}),
  });
}
