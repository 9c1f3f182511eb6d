/**
 * httpbin's paths (docs/PROTOCOLS.md, "httpbin endpoints"): which endpoint a request-target
 * names, with its parameters, as Flask's routes in httpbin 0.7.0 match them (`<int:n>` is
 * digits, `<value>` one segment, `<path:p>` the rest). A path whose first segment is one of
 * httpbin's but that no route takes is httpbin's 404; any other path is the echo's.
 */

export type Endpoint =
  | "anything"
  | "base64"
  | "basic-auth"
  | "bearer"
  | "bytes"
  | "cache"
  | "cache-n"
  | "cookies"
  | "deflate"
  | "delay"
  | "delete"
  | "drip"
  | "etag"
  | "get"
  | "gzip"
  | "headers"
  | "hidden-basic-auth"
  | "ip"
  | "patch"
  | "post"
  | "put"
  | "range"
  | "redirect"
  | "absolute-redirect"
  | "relative-redirect"
  | "redirect-to"
  | "response-headers"
  | "status"
  | "stream"
  | "stream-bytes"
  | "user-agent"
  | "uuid";

interface Route {
  readonly endpoint: Endpoint;
  /** What follows the first segment: a pattern whose groups are the parameters. */
  readonly rest: RegExp;
  readonly methods: readonly string[];
}

const GET = ["GET"];
const ANY = ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"];
const NONE = /^$/;
const INT = /^\/(\d+)$/;
const ONE = /^\/([^/]+)$/;

function route(endpoint: Endpoint, rest: RegExp, methods: readonly string[] = GET): Route {
  return { endpoint, rest, methods };
}

/** By first segment: most have one route, cache and anything two. */
const ROUTES = new Map<string, readonly Route[]>([
  ["get", [route("get", NONE)]],
  ["post", [route("post", NONE, ["POST"])]],
  ["put", [route("put", NONE, ["PUT"])]],
  ["patch", [route("patch", NONE, ["PATCH"])]],
  ["delete", [route("delete", NONE, ["DELETE"])]],
  ["anything", [route("anything", /^(?:\/(.+))?$/, ANY)]],
  ["headers", [route("headers", NONE)]],
  ["ip", [route("ip", NONE)]],
  ["user-agent", [route("user-agent", NONE)]],
  ["uuid", [route("uuid", NONE)]],
  ["response-headers", [route("response-headers", NONE, ["GET", "POST"])]],
  ["bytes", [route("bytes", INT)]],
  ["stream-bytes", [route("stream-bytes", INT)]],
  ["stream", [route("stream", INT)]],
  ["delay", [route("delay", ONE)]],
  ["drip", [route("drip", NONE)]],
  ["redirect", [route("redirect", INT)]],
  ["relative-redirect", [route("relative-redirect", INT)]],
  ["absolute-redirect", [route("absolute-redirect", INT)]],
  ["redirect-to", [route("redirect-to", NONE, ANY)]],
  ["gzip", [route("gzip", NONE)]],
  ["deflate", [route("deflate", NONE)]],
  ["base64", [route("base64", ONE)]],
  ["basic-auth", [route("basic-auth", /^\/([^/]+)\/([^/]+)$/)]],
  ["hidden-basic-auth", [route("hidden-basic-auth", /^\/([^/]+)\/([^/]+)$/)]],
  ["bearer", [route("bearer", NONE)]],
  ["cookies", [route("cookies", NONE)]],
  ["cache", [route("cache", NONE), route("cache-n", INT)]],
  ["etag", [route("etag", ONE)]],
  ["range", [route("range", INT)]],
  ["status", [route("status", ONE, ANY)]],
]);

export interface Match {
  readonly endpoint: Endpoint;
  readonly params: readonly string[];
  /** The method is not one the endpoint takes (405; OPTIONS: 200 with Allow). */
  readonly allowed: boolean;
  /** The Allow header's value. */
  readonly allow: string;
}

/** A path of httpbin's that no route takes (httpbin's 404). */
export const NOT_FOUND = "not-found";

/**
 * The endpoint `path` (percent-encoded, no query) names for `method`; NOT_FOUND for a path under
 * one of httpbin's first segments that no route takes; null for a path that is not httpbin's.
 */
export function matchRoute(method: string, path: string): Match | typeof NOT_FOUND | null {
  if (path.length < 3 || path.charCodeAt(0) !== 0x2f) return null;
  const slash = path.indexOf("/", 1);
  const first = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const routes = ROUTES.get(first);
  if (routes === undefined) return null;
  const rest = slash < 0 ? "" : path.slice(slash);
  for (const r of routes) {
    const m = r.rest.exec(rest);
    if (m === null) continue;
    const params = m.slice(1).map((p) => (p === undefined ? "" : decode(p)));
    const get = r.methods.includes("GET");
    const allow = [...r.methods, ...(get ? ["HEAD"] : []), "OPTIONS"].join(", ");
    const allowed = r.methods.includes(method) || (method === "HEAD" && get);
    return { endpoint: r.endpoint, params, allowed, allow };
  }
  return NOT_FOUND;
}

/** A path parameter, percent-decoded as Flask decodes it (a bad escape is kept as it is). */
function decode(p: string): string {
  if (!p.includes("%")) return p;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** Is `segment` the first segment of an httpbin path (for the HTTP fast path to step aside)? */
export function isHttpbinSegment(segment: string): boolean {
  return ROUTES.has(segment);
}
