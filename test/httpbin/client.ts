/** One case of cases.ts asked over HTTP/1.1 (a connection of its own) or HTTP/2 (a session). */
import { request } from "node:http";
import type { ClientHttp2Session } from "node:http2";
import { call } from "../helpers/h2.ts";
import type { Case, Reply } from "./cases.ts";

export function askHttp1(port: number, c: Case): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: c.method ?? "GET",
        path: c.path,
        agent: false,
        headers: {
          ...(c.body === undefined ? {} : { "content-length": String(c.body.length) }),
          ...c.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

export function askHttp2(session: ClientHttp2Session, c: Case): Promise<Reply> {
  return call(session, c.path, c.method ?? "GET", c.body, c.headers ?? {});
}
