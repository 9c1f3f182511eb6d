/** Raw HTTP/1.1 over a socket: for what fetch will not send (pipelining, bad requests, slowness). */
import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from "node:http";
import { connect } from "node:net";
import { HOST } from "./client.ts";

export interface RawReply {
  /** Everything the server sent, as latin1 text. */
  readonly text: string;
  /** The server closed the connection (rather than the wait running out). */
  readonly closed: boolean;
  /** Milliseconds from the last write to the close (or to the end of the wait). */
  readonly ms: number;
}

/**
 * Send `parts` (pausing `gapMs` between them), then collect the reply until the server closes
 * the connection, `until` matches what came back, or `waitMs` passes.
 */
export function exchange(
  port: number,
  parts: readonly (string | Buffer)[],
  options: { waitMs?: number; gapMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawReply> {
  const { waitMs = 5_000, gapMs = 0, until } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let text = "";
    let sentAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - sentAt });
    };
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (until?.(text)) done(false);
    });
    socket.on("close", () => done(true));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // A reset after the server answered is how some rejections end.
      if (err.code === "ECONNRESET") done(true);
      else reject(err);
    });
    socket.once("connect", async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
      sentAt = Date.now();
      timer = setTimeout(() => done(false), waitMs);
    });
  });
}

/** The status codes of every response in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on a connection of its own (no keep-alive agent), so each reaches the accept. */
export function once(
  port: number,
  options: { method?: string; path?: string; body?: Buffer; headers?: OutgoingHttpHeaders } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        agent: false,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
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
    req.end(options.body);
  });
}
