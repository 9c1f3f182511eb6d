/**
 * Which headers a request may put on its own answer (echo_header, x-echo-header), checked before
 * anything is written: what the protocol it goes out on cannot carry (HTTP/2 refuses
 * connection-specific headers and repeats of single-value ones, and node:http2 throws on them),
 * and, unless --unsafe-responses on, what would make the answer act in a browser (run as a page,
 * set a cookie, open it to other origins, lift the sandbox). Every refusal is a sentence for the
 * 400 that names the header and how to allow it.
 */

/** They frame the message or belong to the connection: ours to write, on either protocol. */
const FRAMING = new Set([
  "connection",
  "content-length",
  "http2-settings",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Fields node:http2 sends at most once (its kSingleValueFields, read from Node 24's
 * internal/http2/util; test/hardening.test.ts checks this list against a real node:http2).
 */
const SINGLE_H2 = new Set([
  "access-control-allow-credentials",
  "access-control-max-age",
  "access-control-request-method",
  "age",
  "authorization",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-md5",
  "content-range",
  "content-type",
  "date",
  "dnt",
  "etag",
  "expires",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "range",
  "referer",
  "retry-after",
  "tk",
  "upgrade-insecure-requests",
  "user-agent",
  "x-content-type-options",
]);

/**
 * Headers a browser acts on beyond showing the answer: the sandbox and nosniff we send, cookies,
 * cross-origin access, redirects by header, site-wide policies and reporting endpoints.
 */
const ACTIVE = new Set([
  "alt-svc",
  "clear-site-data",
  "content-security-policy",
  "content-security-policy-report-only",
  "feature-policy",
  "link",
  "nel",
  "origin-agent-cluster",
  "permissions-policy",
  "refresh",
  "report-to",
  "reporting-endpoints",
  "service-worker-allowed",
  "set-cookie",
  "set-cookie2",
  "strict-transport-security",
  "x-content-type-options",
]);
const ACTIVE_PREFIXES = ["access-control-", "cross-origin-"];

/**
 * Content types no browser renders as a page or runs: plain text, data, raster images, sound,
 * video, fonts. A list of what is inert, not of what is not: a type nobody listed is refused.
 */
const INERT_TYPES = new Set([
  "application/cbor",
  "application/grpc",
  "application/json",
  "application/msgpack",
  "application/octet-stream",
  "application/protobuf",
  "application/x-ndjson",
  "application/x-protobuf",
  "application/x-www-form-urlencoded",
  "image/avif",
  "image/gif",
  "image/jpeg",
  "image/png",
  "image/webp",
  "text/csv",
  "text/event-stream",
  "text/plain",
]);
const INERT_PREFIXES = ["audio/", "video/", "font/"];

/** Is `value` (a Content-Type) one a browser would only show or save? */
export function inertType(value: string): boolean {
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (INERT_TYPES.has(type)) return true;
  if (
    type.startsWith("application/") &&
    (type.endsWith("+json") || type.startsWith("application/grpc+"))
  )
    return true;
  return INERT_PREFIXES.some((p) => type.startsWith(p));
}

function active(name: string, value: string): boolean {
  if (name === "content-type") return !inertType(value);
  return ACTIVE.has(name) || ACTIVE_PREFIXES.some((p) => name.startsWith(p));
}

export interface HeaderRules {
  /** The answer goes out on HTTP/2. */
  readonly h2: boolean;
  /** --unsafe-responses on: headers a browser acts on are allowed. */
  readonly unsafe: boolean;
}

/**
 * Why the answer cannot carry `pairs` (name, value, name, value...: names and values already
 * valid tokens and field values), or null when it can.
 */
export function refuseHeaders(pairs: readonly string[], r: HeaderRules): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < pairs.length; i += 2) {
    const name = (pairs[i] as string).toLowerCase();
    const value = pairs[i + 1] as string;
    if (FRAMING.has(name))
      return `${name} frames the answer or belongs to the connection; it cannot be set`;
    if (r.h2 && SINGLE_H2.has(name) && seen.has(name))
      return `${name} may be sent once on HTTP/2; ask for it once`;
    seen.add(name);
    if (!r.unsafe && active(name, value))
      return name === "content-type"
        ? `content-type '${value}' is one a browser would render or run; answers stay inert unless the server runs with --unsafe-responses on`
        : `${name} is a header a browser acts on; answers stay inert unless the server runs with --unsafe-responses on`;
  }
  return null;
}
