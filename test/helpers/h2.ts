/** An HTTP/2 client for tests: a session (h2c, or h2 over TLS by ALPN) and one request on it. */
import { type ClientHttp2Session, connect, type SecureClientSessionOptions } from "node:http2";
import { HOST } from "./client.ts";

export interface H2Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** One request: its status, headers and whole body. */
export function call(
  session: ClientHttp2Session,
  path: string,
  method = "GET",
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": method, ":path": path, ...headers });
    const chunks: Buffer[] = [];
    let head: H2Reply["headers"] = {};
    req.on("response", (h) => {
      head = h as H2Reply["headers"];
    });
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () =>
      resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks) }),
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A session to `port` on loopback: h2c, or over TLS with `tls` (the client's TLS options). */
export function session(port: number, tls?: SecureClientSessionOptions): ClientHttp2Session {
  const s = connect(`${tls === undefined ? "http" : "https"}://${HOST}:${port}`, tls);
  s.on("error", () => {});
  return s;
}
