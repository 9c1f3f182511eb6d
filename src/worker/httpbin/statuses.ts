/**
 * httpbin's endpoints that answer with a chosen status or headers: /status/{codes} (one, or a
 * weighted pick rolled on the loop's dice, so --fault-seed repeats it), the redirects,
 * /basic-auth, /hidden-basic-auth, /bearer, /response-headers and /base64/{value}. Headers a
 * request names go through the same rules as echo_header (header-rules.ts).
 */
import { isUtf8 } from "node:buffer";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { refuseHeaders } from "../answers/header-rules.ts";
import { splitTarget } from "../http/describe-request.ts";
import { isHttp2 } from "../http/reply.ts";
import { bad, type Exchange, float, int, JSON_TYPE, json, param, send, text } from "./exchange.ts";
import { header, url } from "./request-view.ts";

const TEAPOT = `
    -=[ teapot ]=-

       _...._
     .'  _ _ \`.
    | ."\` ^ \`". _,
    \\_;\`"---"\`|//
      |       ;/
      \\_     _/
        \`"""\`
`;

const ACCEPTED = ["image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"];

/**
 * The answer httpbin gives a status (its helpers.status_code). Where httpbin replaces the
 * answer's headers, it has no content-type, as httpbin's has none.
 */
export function statusAnswer(x: Exchange, code: number): void {
  switch (code) {
    case 301:
    case 302:
    case 303:
    case 305:
    case 307:
      send(x, code, undefined, "", ["location", "/redirect/1"]);
      return;
    case 401:
      send(x, code, undefined, "", ["www-authenticate", 'Basic realm="Fake Realm"']);
      return;
    case 402:
      send(x, code, undefined, "Payment required\n", ["x-more-info", "http://vimeo.com/22053820"]);
      return;
    case 406:
      send(
        x,
        code,
        JSON_TYPE,
        JSON.stringify({
          message: "Client did not request a supported media type.",
          accept: ACCEPTED,
        }),
      );
      return;
    case 407:
      send(x, code, undefined, "", ["proxy-authenticate", 'Basic realm="Fake Realm"']);
      return;
    case 418:
      send(x, code, undefined, TEAPOT, ["x-more-info", "http://tools.ietf.org/html/rfc2324"]);
      return;
    default:
      text(x, code, "");
  }
}

/** A final status we can send on both protocols: 200 to 599 (a 1xx is interim, not an answer). */
function code(text: string): number {
  const n = int(text, Number.NaN);
  return n >= 200 && n <= 599 ? n : Number.NaN;
}

/** /status/{codes}: `503`, or `200:8,503:1,504` (weights, 1 when left out: httpbin's). */
export function status(x: Exchange): void {
  const spec = x.params[0] as string;
  const choices: { code: number; weight: number }[] = [];
  for (const part of spec.split(",", 101)) {
    const colon = part.indexOf(":");
    const c = code(colon < 0 ? part : part.slice(0, colon));
    const weight = colon < 0 ? 1 : float(part.slice(colon + 1), Number.NaN);
    if (Number.isNaN(c) || !(weight >= 0)) {
      bad(
        x,
        "Invalid status code: give codes from 200 to 599, each with an optional :weight (/status/200:8,503:1)",
      );
      return;
    }
    choices.push({ code: c, weight });
  }
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  if (choices.length > 100 || total <= 0) {
    bad(x, "Invalid status code: at most 100 codes, whose weights add up to more than 0");
    return;
  }
  let roll = choices.length === 1 ? 0 : (x.host.dice.roll() / 100) * total;
  for (const c of choices) {
    roll -= c.weight;
    if (roll < 0 || c === choices.at(-1)) {
      statusAnswer(x, c.code);
      return;
    }
  }
}

/** `n` of a redirect, at least 1. */
function hops(x: Exchange): number {
  const n = Number(x.params[0]);
  if (n < 1 || n > 1_000_000) {
    bad(x, "a redirect's n is from 1 to 1000000");
    return 0;
  }
  return n;
}

/** scheme://host of this request (for absolute redirects). */
function base(x: Exchange): string {
  const full = url(x.req);
  return full.slice(0, full.length - (x.req.url ?? "/").length);
}

/** /redirect/{n} (?absolute=true), /relative-redirect/{n}, /absolute-redirect/{n}: 302s to /get. */
export function redirect(x: Exchange, kind: "redirect" | "relative" | "absolute"): void {
  const n = hops(x);
  if (n === 0) return;
  const query = new URLSearchParams(splitTarget(x.req.url ?? "/").query);
  const absolute =
    kind === "absolute" ||
    (kind === "redirect" && (query.get("absolute") ?? "").toLowerCase() === "true");
  const next = n === 1 ? "/get" : `/${absolute ? "absolute" : "relative"}-redirect/${n - 1}`;
  text(x, 302, "", ["location", absolute ? `${base(x)}${next}` : next]);
}

/** /redirect-to?url=U&status_code=3xx: to exactly `url` (a 3xx asked for, else 302). */
export function redirectTo(x: Exchange): void {
  const query = new URLSearchParams(splitTarget(x.req.url ?? "/").query);
  const to = param(query, "url");
  if (to === undefined || to === "") {
    bad(x, "redirect-to needs ?url=");
    return;
  }
  const asked = int(param(query, "status_code"), 302);
  const status = asked >= 300 && asked < 400 ? asked : 302;
  text(x, status, "", ["location", uri(to)]);
}

/**
 * `iri` with what a URI may not hold percent-encoded as UTF-8 (spaces, controls, non-ASCII),
 * and what it may (reserved characters, `%` escapes) as it is: as Werkzeug sends a Location.
 */
function uri(iri: string): string {
  return iri.replace(/[^!#$%&'()*+,\-./0-9:;=?@A-Z[\]_a-z~]+/g, (s) => {
    let out = "";
    for (const b of Buffer.from(s, "utf8"))
      out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    return out;
  });
}

/** The user and password of a Basic Authorization header, or null. */
function basic(value: string | undefined): [string, string] | null {
  const m = value === undefined ? null : /^\s*basic\s+(\S+)\s*$/i.exec(value);
  if (m === null) return null;
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** /basic-auth/{user}/{passwd}: 200 with those credentials, else 401 (hidden: 404, no challenge). */
export function basicAuth(x: Exchange, hidden: boolean): void {
  const [user, passwd] = x.params as [string, string];
  const sent = basic(header(x.req, "authorization"));
  if (sent !== null && sent[0] === user && sent[1] === passwd) {
    json(x, { authenticated: true, user });
    return;
  }
  if (hidden) statusAnswer(x, 404);
  else statusAnswer(x, 401);
}

/** /bearer: 200 with the token of `Authorization: Bearer T`, else 401 with a Bearer challenge. */
export function bearer(x: Exchange): void {
  const m = /^Bearer (.*)$/.exec(header(x.req, "authorization") ?? "");
  if (m === null) {
    text(x, 401, "", ["www-authenticate", "Bearer"]);
    return;
  }
  json(x, { authenticated: true, token: m[1] });
}

/** /base64/{value}: the value, base64url-decoded, as UTF-8 text (plain text: never a page). */
export function base64(x: Exchange): void {
  const value = x.params[0] as string;
  const bytes = Buffer.from(value, "base64url");
  if (!/^[A-Za-z0-9_=+/-]*$/.test(value) || !isUtf8(bytes)) {
    bad(x, "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l");
    return;
  }
  text(x, 200, bytes.toString("utf8"));
}

/**
 * /response-headers?Name=value: those headers on the answer, and the answer's headers as its JSON
 * body (Content-Length included, so computed until it holds still). A header the echo's rules
 * refuse (a browser acts on it, or it frames the answer) is a 400 saying which.
 */
export function responseHeaders(x: Exchange): void {
  const query = new URLSearchParams(splitTarget(x.req.url ?? "/").query);
  const pairs: string[] = [];
  let type = JSON_TYPE;
  for (const [name, value] of query) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      bad(x, `response-headers: '${name}' is not a valid header name and value`);
      return;
    }
    if (name.toLowerCase() === "content-type") type = value;
    else pairs.push(name, value);
  }
  const refusal = refuseHeaders(type === JSON_TYPE ? pairs : [...pairs, "content-type", type], {
    h2: isHttp2(x.req),
    unsafe: x.host.unsafeResponses,
  });
  if (refusal !== null || pairs.length > 64) {
    bad(x, `response-headers: ${refusal ?? "at most 64 headers"}`);
    return;
  }
  const shown: Record<string, string | string[]> = { "Content-Type": type };
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const seen = shown[name];
    const value = pairs[i + 1] as string;
    shown[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  let body = "";
  for (let length = 0, i = 0; i < 5; i++) {
    body = `${JSON.stringify({ ...shown, "Content-Length": String(length) })}\n`;
    if (Buffer.byteLength(body) === length) break;
    length = Buffer.byteLength(body);
  }
  send(x, 200, type, body, pairs);
}
