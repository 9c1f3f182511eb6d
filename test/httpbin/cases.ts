/**
 * The requests the httpbin differential test sends (test/httpbin.test.ts) and what of each
 * answer it compares: status, media type, the headers named, and the body as the case says (JSON
 * with the host, port and random values taken out, its length, or its bytes). The same cases
 * recorded python3-httpbin 0.7.0's answers (test/httpbin/record.ts, recorded.json).
 *
 * Where echoplex differs from httpbin on purpose, the summary says so, not the recording:
 * text/html answers are text/plain here (inert in a browser); a Bearer token is what follows
 * "Bearer " (httpbin 0.7.0 strips any of the letters B, e, a, r from its start).
 */
import { readFileSync } from "node:fs";
import { gunzipSync, inflateSync } from "node:zlib";

/** python3-httpbin's answers to CASES, summarized (record.ts wrote them). */
export const RECORDED: Record<string, unknown> = JSON.parse(
  readFileSync(new URL("recorded.json", import.meta.url), "utf8"),
);

export interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** How the body is compared: parsed JSON, JSON lines, bytes as text, length, or not at all. */
  readonly compare?: "json" | "lines" | "text" | "length" | "none";
  /** Response headers compared (lower case); `allow` as a set. */
  readonly show?: readonly string[];
}

const FORM = "application/x-www-form-urlencoded";
const BOUNDARY = "xYzZY";
const MULTIPART = Buffer.from(
  [
    `--${BOUNDARY}`,
    'Content-Disposition: form-data; name="field"',
    "",
    "value",
    `--${BOUNDARY}`,
    'Content-Disposition: form-data; name="file"; filename="a.txt"',
    "Content-Type: text/plain",
    "",
    "file body",
    `--${BOUNDARY}--`,
    "",
  ].join("\r\n"),
);
const AUTH = `Basic ${Buffer.from("user:passwd").toString("base64")}`;

export const CASES: readonly Case[] = [
  { name: "get with args and a header", path: "/get?a=1&a=2&b=x", headers: { "x-test": "t" } },
  { name: "head of get", method: "HEAD", path: "/get", compare: "none" },
  { name: "post to get", method: "POST", path: "/get", compare: "none", show: ["allow"] },
  { name: "options of get", method: "OPTIONS", path: "/get", compare: "none", show: ["allow"] },
  {
    name: "post json",
    method: "POST",
    path: "/post?q=1",
    headers: { "content-type": "application/json" },
    body: Buffer.from('{"a":[1,2],"b":{"c":null}}'),
  },
  {
    name: "post form",
    method: "POST",
    path: "/post",
    headers: { "content-type": FORM },
    body: Buffer.from("a=1&a=2&b=%20x"),
  },
  {
    name: "post multipart",
    method: "POST",
    path: "/post",
    headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    body: MULTIPART,
  },
  {
    name: "post bytes that are not UTF-8",
    method: "POST",
    path: "/post",
    headers: { "content-type": "application/octet-stream" },
    body: Buffer.from([0xff, 0xfe, 0x00, 0x41]),
  },
  { name: "put text", method: "PUT", path: "/put", body: Buffer.from("plain text") },
  { name: "patch", method: "PATCH", path: "/patch", body: Buffer.from("[1]") },
  { name: "delete", method: "DELETE", path: "/delete" },
  { name: "get to post", path: "/post", compare: "none", show: ["allow"] },
  { name: "anything with a path", path: "/anything/x/y?q=1" },
  { name: "anything post", method: "POST", path: "/anything", body: Buffer.from("hi") },
  { name: "anything put", method: "PUT", path: "/anything/z", body: Buffer.from("{}") },
  { name: "headers", path: "/headers", headers: { "x-one": "1" } },
  {
    name: "headers hide what a proxy added",
    path: "/headers",
    headers: { "x-forwarded-for": "192.0.2.1", via: "1.1 p", "x-two": "2" },
  },
  {
    name: "headers with show_env",
    path: "/headers?show_env=1",
    headers: { "x-forwarded-for": "192.0.2.1", via: "1.1 p" },
  },
  { name: "ip from x-forwarded-for", path: "/ip", headers: { "x-forwarded-for": "192.0.2.1" } },
  {
    name: "url from x-forwarded-proto",
    path: "/get",
    headers: { "x-forwarded-proto": "https" },
  },
  { name: "ip", path: "/ip" },
  { name: "user-agent", path: "/user-agent", headers: { "user-agent": "differential/1" } },
  { name: "uuid", path: "/uuid" },
  { name: "response-headers", path: "/response-headers?X-A=1&X-A=2&X-B=z", show: ["x-a", "x-b"] },
  { name: "bytes", path: "/bytes/100", compare: "length" },
  { name: "bytes over the cap", path: "/bytes/200000", compare: "length" },
  { name: "bytes not a number", path: "/bytes/abc", compare: "none" },
  { name: "stream-bytes", path: "/stream-bytes/1000?chunk_size=100", compare: "length" },
  { name: "stream", path: "/stream/3", compare: "lines" },
  { name: "delay", path: "/delay/0.1" },
  { name: "drip", path: "/drip?numbytes=5&duration=0.1", compare: "text" },
  { name: "drip with a code", path: "/drip?numbytes=3&duration=0&code=503", compare: "text" },
  { name: "drip of nothing", path: "/drip?numbytes=0", compare: "none" },
  { name: "redirect 3", path: "/redirect/3", compare: "none", show: ["location"] },
  { name: "redirect 1", path: "/redirect/1", compare: "none", show: ["location"] },
  {
    name: "redirect absolute",
    path: "/redirect/2?absolute=true",
    compare: "none",
    show: ["location"],
  },
  { name: "relative-redirect", path: "/relative-redirect/2", compare: "none", show: ["location"] },
  { name: "absolute-redirect", path: "/absolute-redirect/1", compare: "none", show: ["location"] },
  {
    name: "redirect-to with a status",
    path: "/redirect-to?url=/get&status_code=307",
    compare: "none",
    show: ["location"],
  },
  {
    name: "redirect-to, its names in any case",
    method: "POST",
    path: "/redirect-to?URL=http://example.com/a%20b&Status_Code=200",
    compare: "none",
    show: ["location"],
  },
  { name: "gzip", path: "/gzip", show: ["content-encoding"] },
  { name: "deflate", path: "/deflate", show: ["content-encoding"] },
  { name: "base64", path: "/base64/SFRUUEJJTiBpcyBhd2Vzb21l", compare: "text" },
  {
    name: "basic-auth, right",
    path: "/basic-auth/user/passwd",
    headers: { authorization: AUTH },
  },
  {
    name: "basic-auth, wrong",
    path: "/basic-auth/user/other",
    headers: { authorization: AUTH },
    compare: "none",
    show: ["www-authenticate"],
  },
  { name: "basic-auth, none", path: "/basic-auth/u/p", compare: "none" },
  {
    name: "hidden-basic-auth, wrong",
    path: "/hidden-basic-auth/user/other",
    compare: "none",
    show: ["www-authenticate"],
  },
  { name: "bearer, none", path: "/bearer", compare: "none", show: ["www-authenticate"] },
  { name: "bearer", path: "/bearer", headers: { authorization: "Bearer Tok123" } },
  { name: "cookies", path: "/cookies", headers: { cookie: "a=1; b=two; __utma=x" } },
  { name: "cache", path: "/cache" },
  {
    name: "cache, conditional",
    path: "/cache",
    headers: { "if-none-match": '"x"' },
    compare: "none",
  },
  {
    name: "cache, if-modified-since",
    path: "/cache",
    headers: { "if-modified-since": "Sun, 06 Dec 2026 00:00:00 GMT" },
    compare: "none",
  },
  { name: "cache for n", path: "/cache/60", show: ["cache-control"] },
  { name: "etag", path: "/etag/abc", show: ["etag"] },
  {
    name: "etag, none match",
    path: "/etag/abc",
    headers: { "if-none-match": 'W/"abc", "d"' },
    compare: "none",
    show: ["etag"],
  },
  {
    name: "etag, if-match fails",
    path: "/etag/abc",
    headers: { "if-match": '"zz"' },
    compare: "none",
  },
  {
    name: "range, whole",
    path: "/range/30",
    compare: "text",
    show: ["content-range", "accept-ranges", "etag"],
  },
  {
    name: "range, a part",
    path: "/range/30",
    headers: { range: "bytes=5-9" },
    compare: "text",
    show: ["content-range", "etag"],
  },
  {
    name: "range, a suffix",
    path: "/range/30",
    headers: { range: "bytes=-5" },
    compare: "text",
    show: ["content-range"],
  },
  {
    name: "range, unsatisfiable",
    path: "/range/30",
    headers: { range: "bytes=40-50" },
    compare: "none",
    show: ["content-range"],
  },
  { name: "range of 0", path: "/range/0", compare: "none", show: ["etag"] },
  { name: "status 418", path: "/status/418", compare: "none", show: ["x-more-info"] },
  { name: "status 204", path: "/status/204", compare: "none" },
  { name: "status 302", path: "/status/302", compare: "none", show: ["location"] },
  { name: "status 401", path: "/status/401", compare: "none", show: ["www-authenticate"] },
  { name: "status 406", path: "/status/406" },
  { name: "status by post", method: "POST", path: "/status/503", compare: "none" },
  { name: "status list", path: "/status/500:1,500:3", compare: "none" },
  { name: "status not a number", path: "/status/abc", compare: "none" },
];

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** What is compared of an answer to `c` (host:port written HOST, random values as their shape). */
export function summarize(c: Case, r: Reply, host: string) {
  const type =
    String(r.headers["content-type"] ?? "")
      .split(";")[0]
      ?.trim() ?? "";
  const headers: Record<string, string> = {};
  for (const name of c.show ?? []) {
    const v = r.headers[name];
    const value = Array.isArray(v) ? v.join(",") : (v ?? "");
    headers[name] =
      name === "allow"
        ? value
            .split(",")
            .map((m) => m.trim())
            .sort()
            .join(", ")
        : value.replaceAll(host, "HOST");
  }
  let body: Buffer = r.body;
  const encoding = r.headers["content-encoding"];
  if (encoding === "gzip") body = gunzipSync(body);
  if (encoding === "deflate") body = inflateSync(body);
  return {
    status: r.status,
    // Ours are plain text where httpbin's are HTML: the same answer, inert in a browser.
    type: type === "text/html" ? "text/plain" : type,
    headers,
    body: bodyOf(c, body, host),
  };
}

function bodyOf(c: Case, body: Buffer, host: string): unknown {
  switch (c.compare ?? "json") {
    case "none":
      return null;
    case "length":
      return body.length;
    case "text":
      return body.toString("latin1");
    case "lines":
      return body
        .toString()
        .trimEnd()
        .split("\n")
        .map((line) => clean(c, JSON.parse(line), host));
    default:
      return clean(c, JSON.parse(body.toString()), host);
  }
}

/** A JSON answer with what differs run to run taken out: the host, random ids, our headers. */
function clean(c: Case, value: unknown, host: string): unknown {
  if (typeof value === "string") {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value))
      return "UUID";
    return value.replaceAll(host, "HOST");
  }
  if (Array.isArray(value)) return value.map((v) => clean(c, v, host));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // A request's headers: the ones the case sent (each client adds its own, and Host has a port).
    if (key === "headers" && typeof v === "object" && v !== null) {
      const sent = new Set(Object.keys(c.headers ?? {}).map((h) => h.toLowerCase()));
      out[key] = Object.fromEntries(
        Object.entries(v).filter(([h]) => sent.has(h.toLowerCase()) && h.toLowerCase() !== "host"),
      );
    } else if (key === "Content-Length" && c.path.startsWith("/response-headers")) out[key] = "N";
    else out[key] = clean(c, v, host);
  }
  return out;
}
