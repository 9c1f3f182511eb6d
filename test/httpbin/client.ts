/** One case of cases.ts asked over HTTP/1.1 (a connection of its own) or HTTP/2 (a session). */
import type { ClientHttp2Session } from "node:http2";
import { call } from "../helpers/h2.ts";
import { once } from "../helpers/http.ts";
import type { Case, Reply } from "./cases.ts";

/** Content-Length, not chunked: httpbin under Werkzeug refuses a chunked body (501). */
export function askHttp1(port: number, c: Case): Promise<Reply> {
  return once(port, {
    method: c.method ?? "GET",
    path: c.path,
    headers: {
      ...(c.body === undefined ? {} : { "content-length": String(c.body.length) }),
      ...c.headers,
    },
    ...(c.body === undefined ? {} : { body: c.body }),
  });
}

export function askHttp2(session: ClientHttp2Session, c: Case): Promise<Reply> {
  return call(session, c.path, c.method ?? "GET", c.body, c.headers ?? {});
}
