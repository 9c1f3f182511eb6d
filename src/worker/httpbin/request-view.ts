/**
 * What httpbin says of a request (its helpers.get_dict): url, args, form, data, origin, headers,
 * files, json and method, with httpbin's field names and forms — header names in Title-Case,
 * repeated query keys and headers as httpbin joins them, a body that is not UTF-8 as a data: URL,
 * form bodies parsed (and then not in `data`). Everything here takes any request: nothing throws
 * on what a client sent.
 */
import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { splitTarget } from "../http/describe-request.ts";
import { clientOf } from "../proxy/gate.ts";

type Multi = Record<string, string | string[]>;

/** Headers httpbin leaves out unless ?show_env (those its hosting added). */
const ENV_HEADERS = new Set([
  "x-varnish",
  "x-request-start",
  "x-heroku-queue-depth",
  "x-real-ip",
  "x-forwarded-proto",
  "x-forwarded-protocol",
  "x-forwarded-ssl",
  "x-heroku-queue-wait-time",
  "x-forwarded-for",
  "x-heroku-dynos-in-use",
  "x-forwarded-port",
  "x-request-id",
  "via",
  "total-route-time",
  "connect-time",
]);

/** `content-type` → `Content-Type`, as WSGI hands httpbin its headers. */
function titleCase(name: string): string {
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/** Keys with one value as that value, with more as a list (httpbin's semiflatten). */
function multi(pairs: Iterable<[string, string]>): Multi {
  const out: Multi = {};
  for (const [key, value] of pairs) {
    const seen = out[key];
    out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

export function args(req: IncomingMessage): Multi {
  return multi(new URLSearchParams(splitTarget(req.url ?? "/").query));
}

/** The request's headers as httpbin shows them (HTTP/2's :authority as Host). */
export function headers(
  req: IncomingMessage,
  showEnv = "show_env" in args(req),
): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    let name = raw[i] as string;
    if (name === ":authority") name = "host";
    else if (name.startsWith(":")) continue;
    if (!showEnv && ENV_HEADERS.has(name.toLowerCase())) continue;
    const key = titleCase(name);
    const value = raw[i + 1] as string;
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

/** One header's value (the first), or undefined. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** X-Forwarded-For as sent, else the client's address (the one a PROXY header named). */
export function origin(req: IncomingMessage): string {
  const forwarded = header(req, "x-forwarded-for");
  if (forwarded !== undefined) return forwarded;
  const socket = req.socket;
  return clientOf(socket)?.address ?? socket.remoteAddress ?? "";
}

/** scheme://host/target, the scheme as X-Forwarded-Proto says or the connection is. */
export function url(req: IncomingMessage): string {
  const tls = (req.socket as TLSSocket).encrypted === true;
  const proto =
    header(req, "x-forwarded-proto") ??
    header(req, "x-forwarded-protocol") ??
    (header(req, "x-forwarded-ssl") === "on" || tls ? "https" : "http");
  const host = header(req, "host") ?? header(req, ":authority") ?? "";
  return `${proto}://${host}${req.url ?? "/"}`;
}

/** A body as JSON can carry it: its text if UTF-8, else a data: URL (httpbin's json_safe). */
function jsonSafe(body: Buffer, type = "application/octet-stream"): string {
  if (isUtf8(body)) return body.toString("utf8");
  return `data:${type};base64,${body.toString("base64")}`;
}

export interface Body {
  readonly form: Multi;
  readonly files: Multi;
  readonly data: string;
  readonly json: unknown;
}

const NO_BODY: Body = { form: {}, files: {}, data: "", json: null };

/**
 * The body as httpbin reads it: a form (urlencoded or multipart) into form and files, with data
 * then empty; anything else as data, and as json when it parses. A multipart body that does not
 * parse is an empty form, as Werkzeug leaves it.
 */
export async function readBody(req: IncomingMessage, body: Buffer | undefined): Promise<Body> {
  if (body === undefined || body.length === 0) return NO_BODY;
  const given = header(req, "content-type") ?? "";
  // The media type without case; the boundary as sent (it is case-sensitive).
  const type = given.toLowerCase();
  if (type.startsWith("application/x-www-form-urlencoded"))
    return { ...NO_BODY, form: multi(new URLSearchParams(body.toString("utf8"))) };
  if (type.startsWith("multipart/form-data")) return multipart(body, given);
  const data = jsonSafe(body);
  let json: unknown = null;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    json = null;
  }
  return { ...NO_BODY, data, json };
}

async function multipart(body: Buffer, type: string): Promise<Body> {
  const form: [string, string][] = [];
  const files: [string, string][] = [];
  try {
    const parts = await new Response(body, { headers: { "content-type": type } }).formData();
    for (const [name, value] of parts) {
      if (typeof value === "string") form.push([name, value]);
      else
        files.push([
          name,
          jsonSafe(Buffer.from(await value.arrayBuffer()), value.type || undefined),
        ]);
    }
  } catch {
    return NO_BODY;
  }
  return { ...NO_BODY, form: multi(form), files: multi(files) };
}

/** The cookies a request sent, by name (the last of a repeated name). */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = req.headers.cookie;
  if (raw === undefined) return out;
  for (const part of raw.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== "") out[name] = part.slice(eq + 1).trim();
  }
  return out;
}
