/**
 * httpbin's endpoints (docs/PROTOCOLS.md, "httpbin endpoints"), on node:http's path for HTTP/1.1
 * and HTTP/2 alike: routes.ts says which endpoint a path names; this file answers a method the
 * endpoint does not take (405, or 200 with Allow to OPTIONS) and hands the rest to the endpoint,
 * whose exception, thrown or rejected, answers 500 through the echo's own handler.
 */
import { bad, type Exchange, type HttpbinHost, text } from "./exchange.ts";
import { bytes, delay, drip, rangeOf, stream, streamBytes } from "./generated.ts";
import {
  cache,
  cacheFor,
  compressed,
  cookieList,
  etag,
  get,
  headersOnly,
  ip,
  userAgent,
  uuid,
  withBody,
} from "./inspect.ts";
import type { Endpoint, Match } from "./routes.ts";
import {
  base64,
  basicAuth,
  bearer,
  redirect,
  redirectTo,
  responseHeaders,
  status,
} from "./statuses.ts";

/** Each endpoint's answer. Paths with <int:n> are digits already (routes.ts). */
const ENDPOINTS: Record<Endpoint, (x: Exchange) => void | Promise<void>> = {
  get: (x) => get(x),
  anything: (x) => withBody(x, true),
  post: (x) => withBody(x, false),
  put: (x) => withBody(x, false),
  patch: (x) => withBody(x, false),
  delete: (x) => withBody(x, false),
  headers: headersOnly,
  ip,
  "user-agent": userAgent,
  uuid,
  cookies: cookieList,
  gzip: (x) => compressed(x, "gzip"),
  deflate: (x) => compressed(x, "deflate"),
  cache,
  "cache-n": (x) =>
    Number(x.params[0]) > 2 ** 31 ? bad(x, "max-age is at most 2^31") : cacheFor(x),
  etag,
  status,
  redirect: (x) => redirect(x, "redirect"),
  "relative-redirect": (x) => redirect(x, "relative"),
  "absolute-redirect": (x) => redirect(x, "absolute"),
  "redirect-to": redirectTo,
  "basic-auth": (x) => basicAuth(x, false),
  "hidden-basic-auth": (x) => basicAuth(x, true),
  bearer,
  "response-headers": responseHeaders,
  base64,
  bytes,
  "stream-bytes": streamBytes,
  stream,
  range: rangeOf,
  drip,
  delay,
};

/** Answer the request `x` for the endpoint `m` matched. */
export function serve(x: Exchange, m: Match): void {
  if (!m.allowed) {
    if (x.req.method === "OPTIONS") text(x, 200, "", ["allow", m.allow]);
    else text(x, 405, `${x.req.method} is not one of ${m.allow}\n`, ["allow", m.allow]);
    return;
  }
  const done = ENDPOINTS[m.endpoint](x);
  if (done !== undefined) done.catch((err: unknown) => x.host.fail(x.res, err));
}

/** A path under one of httpbin's names that no endpoint takes. */
export function notFound(x: Exchange): void {
  text(
    x,
    404,
    "Not Found: no httpbin endpoint has this path (docs/PROTOCOLS.md, httpbin endpoints)\n",
  );
}

export type { HttpbinHost };
