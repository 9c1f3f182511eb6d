/**
 * The JSON an HTTP echo answers GET (or ?format=json, or Accept: application/json) with: what the
 * request looked like when it reached this server, and which worker served it. The fields follow
 * the echo servers people point ingresses and load balancers at.
 *
 * The request-target is the client's: nothing here may throw on it. `new URL()` rejects targets
 * llhttp accepts (`//`, `http://a:99999/`), so the path and query are split by hand and the query
 * read with URLSearchParams, which takes any string.
 */

import type { IncomingMessage } from "node:http";
import { hostname } from "node:os";
import type { TLSSocket } from "node:tls";
import { clientOf } from "../proxy/gate.ts";

const HOST = hostname();

/** Body bytes a description includes at most; the rest is cut (`bodyTruncated`). */
export const DESCRIBED_BODY_MAX = 64 * 1024;

export interface Served {
  readonly worker: number;
  readonly pid: number;
}

export interface Target {
  /** origin-form: up to `?` or `#`; absolute-form: the part after the authority (or `/`); else the target. */
  readonly path: string;
  /** Everything after the first `?` (before any `#`), or "". */
  readonly query: string;
}

/** absolute-form (RFC 9112 3.2.2): scheme "://" authority, then the path. */
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/** Split a request-target into path and query (any string: origin, absolute, authority, `*`). */
export function splitTarget(target: string): Target {
  const absolute = ABSOLUTE.exec(target);
  const rest = absolute === null ? target : target.slice(absolute[0].length);
  const hash = rest.indexOf("#");
  const bare = hash < 0 ? rest : rest.slice(0, hash);
  const q = bare.indexOf("?");
  const path = q < 0 ? bare : bare.slice(0, q);
  return {
    path: absolute !== null && !path.startsWith("/") ? `/${path}` : path,
    query: q < 0 ? "" : bare.slice(q + 1),
  };
}

function queryObject(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

/**
 * The client's certificate, when it sent one (--tls-client-cert request or require): who it
 * names, who signed it, its validity and fingerprint, and whether --tls-ca verified it.
 */
function clientCertificate(socket: TLSSocket) {
  if (socket.encrypted !== true) return {};
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return {};
  return {
    clientCertificate: {
      subject: cert.subject,
      issuer: cert.issuer,
      serialNumber: cert.serialNumber,
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      fingerprint256: cert.fingerprint256,
      authorized: socket.authorized,
      ...(socket.authorized ? {} : { authorizationError: String(socket.authorizationError) }),
    },
  };
}

export function describeRequest(
  req: IncomingMessage,
  body: Buffer | undefined,
  by: Served,
): string {
  const url = req.url ?? "/";
  const { path, query } = splitTarget(url);
  const socket = req.socket;
  const length = body?.length ?? 0;
  const cut = length > DESCRIBED_BODY_MAX;
  // Behind a PROXY protocol header: the client it names, and the proxy's own address beside it.
  const client = clientOf(socket);
  const remote =
    client === undefined
      ? { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort }
      : {
          remoteAddress: client?.address ?? socket.remoteAddress,
          remotePort: client?.port ?? socket.remotePort,
          proxyAddress: socket.remoteAddress,
          proxyPort: socket.remotePort,
        };
  return `${JSON.stringify({
    method: req.method,
    url,
    path,
    query: queryObject(query),
    httpVersion: req.httpVersion,
    headers: req.headers,
    protocol: (socket as TLSSocket).encrypted === true ? "https" : "http",
    ...remote,
    ...clientCertificate(socket as TLSSocket),
    bodyLength: length,
    body: body?.toString("utf8", 0, DESCRIBED_BODY_MAX),
    ...(cut ? { bodyTruncated: true } : {}),
    hostname: HOST,
    pid: by.pid,
    worker: by.worker,
  })}\n`;
}

/** Did the client ask for JSON (?format=json or Accept: application/json)? */
export function wantsJson(req: IncomingMessage): boolean {
  const url = req.url ?? "";
  // Cheap test first: only targets that mention it are split and parsed.
  if (url.includes("format=json")) {
    if (new URLSearchParams(splitTarget(url).query).get("format") === "json") return true;
  }
  return req.headers.accept?.includes("application/json") === true;
}
