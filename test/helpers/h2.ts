/** An HTTP/2 client for tests: a session (h2c, or h2 over TLS by ALPN) and one request on it. */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type SecureClientSessionOptions,
} from "node:http2";
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
  const req = session.request({ ":method": method, ":path": path, ...headers });
  const got = replyOf(req, "end");
  req.end(body);
  return got;
}

/**
 * The answer to a request sent by the caller (who may write only part of its body): status,
 * headers and body, once the stream ends (`end`) or closes (`close`, for an answer cut short).
 */
export function replyOf(req: ClientHttp2Stream, until: "end" | "close"): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let head: H2Reply["headers"] = {};
    req.on("response", (h) => {
      head = h as H2Reply["headers"];
    });
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on(until, () =>
      resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks) }),
    );
    req.on("error", reject);
  });
}

/** A session to `port` on loopback: h2c, or over TLS with `tls` (the client's TLS options). */
export function session(port: number, tls?: SecureClientSessionOptions): ClientHttp2Session {
  const s = connect(`${tls === undefined ? "http" : "https"}://${HOST}:${port}`, tls);
  s.on("error", () => {});
  return s;
}
