/**
 * httpbin's endpoints that describe the request back in JSON: /get, /anything, /post /put
 * /patch /delete, /headers, /ip, /user-agent, /uuid, /cookies, /gzip and /deflate (the same
 * description compressed), /cache, /cache/{n} and /etag/{tag} (conditional requests).
 */
import { randomUUID } from "node:crypto";
import { deflateSync, gzipSync } from "node:zlib";
import { type Exchange, JSON_TYPE, json, send, text } from "./exchange.ts";
import { args, cookies, header, headers, origin, readBody, url } from "./request-view.ts";

/** /get, and what /cache and /etag answer when the condition does not hold. */
function getView(x: Exchange) {
  return { args: args(x.req), headers: headers(x.req), origin: origin(x.req), url: url(x.req) };
}

export function get(x: Exchange, extra: readonly string[] = []): void {
  json(x, getView(x), 200, extra);
}

/** /post, /put, /patch, /delete, /delay/{s} (no json), /anything (with the method). */
export async function withBody(x: Exchange, method: boolean, withJson = true): Promise<void> {
  const body = await readBody(x.req, x.body);
  json(x, {
    args: args(x.req),
    data: body.data,
    files: body.files,
    form: body.form,
    headers: headers(x.req),
    ...(withJson ? { json: body.json } : {}),
    ...(method ? { method: x.req.method } : {}),
    origin: origin(x.req),
    url: url(x.req),
  });
}

export function headersOnly(x: Exchange): void {
  json(x, { headers: headers(x.req) });
}

export function ip(x: Exchange): void {
  json(x, { origin: origin(x.req) });
}

export function userAgent(x: Exchange): void {
  json(x, { "user-agent": header(x.req, "user-agent") ?? null });
}

export function uuid(x: Exchange): void {
  json(x, { uuid: randomUUID() });
}

/** Cookies httpbin leaves out unless ?show_env (its hosting's analytics). */
const ENV_COOKIES = [
  "_gauges_unique",
  "_gauges_unique_year",
  "_gauges_unique_month",
  "_gauges_unique_day",
  "_gauges_unique_hour",
  "__utmz",
  "__utma",
  "__utmb",
];

export function cookieList(x: Exchange): void {
  const all = cookies(x.req);
  if (!("show_env" in args(x.req))) for (const name of ENV_COOKIES) delete all[name];
  json(x, { cookies: all });
}

/** /gzip and /deflate: the description, compressed, with its Content-Encoding. */
export function compressed(x: Exchange, how: "gzip" | "deflate"): void {
  const view = {
    ...(how === "gzip" ? { gzipped: true } : { deflated: true }),
    headers: headers(x.req),
    method: x.req.method,
    origin: origin(x.req),
  };
  const raw = Buffer.from(`${JSON.stringify(view)}\n`);
  const body = how === "gzip" ? gzipSync(raw, { level: 4 }) : deflateSync(raw);
  send(x, 200, JSON_TYPE, body, ["content-encoding", how]);
}

/** /cache: 304 to a conditional request, else /get with Last-Modified and a new ETag. */
export function cache(x: Exchange): void {
  if (
    header(x.req, "if-modified-since") !== undefined ||
    header(x.req, "if-none-match") !== undefined
  ) {
    send(x, 304, undefined, "");
    return;
  }
  get(x, ["last-modified", new Date().toUTCString(), "etag", randomUUID().replaceAll("-", "")]);
}

/** /cache/{n}: /get with Cache-Control max-age n. */
export function cacheFor(x: Exchange): void {
  get(x, ["cache-control", `public, max-age=${x.params[0]}`]);
}

/** The entity tags of an If-Match or If-None-Match, unquoted (httpbin's parse_multi_value_header). */
function tags(value: string | undefined): string[] {
  if (value === undefined || value === "") return [];
  return value.split(",").map((part) => /^\s*(?:W\/)?"?([^"]*)"?/.exec(part)?.[1] ?? "");
}

/** /etag/{tag}: 304 when If-None-Match has it (or *), 412 when If-Match lacks it, else /get. */
export function etag(x: Exchange): void {
  const tag = x.params[0] as string;
  if (!/^[\x21-\x7e\x80-\xff]+$/.test(tag)) {
    text(x, 400, "an etag is visible characters only\n");
    return;
  }
  const noneMatch = tags(header(x.req, "if-none-match"));
  const match = tags(header(x.req, "if-match"));
  if (noneMatch.length > 0) {
    if (noneMatch.includes(tag) || noneMatch.includes("*")) {
      send(x, 304, undefined, "", ["etag", tag]);
      return;
    }
  } else if (match.length > 0 && !match.includes(tag) && !match.includes("*")) {
    text(x, 412, "");
    return;
  }
  get(x, ["etag", tag]);
}
