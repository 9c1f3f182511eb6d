/**
 * CORS (--cors on): a preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered 204 allowing the method and headers it asks for, for its origin; every other answer
 * allows the request's origin (or any, without one) and exposes its headers. Off by default:
 * with it, any page a browser shows may read what the echo answers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Seconds a browser may keep a preflight's answer. */
const MAX_AGE = "600";

export function isPreflight(req: IncomingMessage): boolean {
  return (
    req.method === "OPTIONS" &&
    req.headers.origin !== undefined &&
    req.headers["access-control-request-method"] !== undefined
  );
}

/** The CORS headers of an answer to `req` (name, value pairs). */
export function corsHeaders(req: IncomingMessage): string[] {
  const origin = req.headers.origin;
  return [
    "access-control-allow-origin",
    origin ?? "*",
    "access-control-expose-headers",
    "*",
    "vary",
    "Origin",
  ];
}

/** Answer a preflight: 204, the origin, the method and the headers it asked for. */
export function preflight(req: IncomingMessage, res: ServerResponse, extra: readonly string[]) {
  const method = req.headers["access-control-request-method"] as string;
  const asked = req.headers["access-control-request-headers"];
  res.writeHead(204, [
    "access-control-allow-origin",
    req.headers.origin as string,
    "access-control-allow-methods",
    method,
    ...(asked === undefined ? [] : ["access-control-allow-headers", asked]),
    "access-control-max-age",
    MAX_AGE,
    "vary",
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    ...extra,
  ]);
  res.end();
}
