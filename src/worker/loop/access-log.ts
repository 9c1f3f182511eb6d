/**
 * The access log (--access-log on|FILE): one JSON line per HTTP request (HTTP/1.1 and HTTP/2)
 * when its answer ends, and one per TCP echo or WebSocket connection when it closes, each
 * written by the loop that served it, through pino. Lines go into a bounded buffer (sonic-boom's
 * maxLength) written asynchronously in whole lines of at most PIPE_BUF bytes a write (so the
 * loops' lines do not interleave on a shared stdout); a line that does not fit is dropped and
 * counted: the log never makes the echo wait. --access-log-ignore leaves out requests whose path
 * matches.
 */

import { openSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { DestinationStream, Logger } from "pino";
import type { WebSocket } from "ws";
import { loadPino } from "../../log.ts";
import type { AccessLogCounts } from "../../stats.ts";
import { clientOf } from "../proxy/gate.ts";

/** Bytes of lines a loop holds at most while they are written. */
export const MAX_BUFFERED = 1024 * 1024;
/** How long a drain waits for the last lines to be written. */
const FLUSH_MS = 1_000;
/** The most a write takes: a pipe writes this much at once, never interleaved. */
const PIPE_BUF = 4096;

type Chunk = string | Uint8Array;
type Write = (chunk: Chunk, ...rest: unknown[]) => boolean;

const size = (chunk: unknown, encoding?: unknown): number =>
  typeof chunk === "string"
    ? Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
    : chunk instanceof Uint8Array
      ? chunk.length
      : 0;

/** Where a connection came from: the client a PROXY header named, else the peer. */
function remote(socket: Socket | null | undefined): {
  remote?: string | undefined;
  remotePort?: number | undefined;
} {
  if (socket === null || socket === undefined) return {};
  const client = clientOf(socket);
  return {
    remote: client?.address ?? socket.remoteAddress,
    remotePort: client?.port ?? socket.remotePort,
  };
}

/**
 * The file, opened now: given a path, sonic-boom opens it later, and pino's exit hook then
 * threw ("sonic boom is not ready yet") in a process that ended before the open did (found by
 * the config fuzz). A file that cannot be opened (config.ts checked it could) loses its lines,
 * counted, to /dev/null.
 */
function openFile(path: string, counts: AccessLogCounts): number {
  try {
    return openSync(path, "a");
  } catch {
    counts.dropped++;
    return openSync("/dev/null", "a");
  }
}

export class AccessLog {
  readonly #log: Logger;
  readonly #out: DestinationStream;
  readonly #ignore: RegExp | null;
  readonly #counts: AccessLogCounts;

  constructor(target: string, ignore: string | null, worker: number, counts: AccessLogCounts) {
    this.#counts = counts;
    this.#ignore = ignore === null ? null : new RegExp(ignore);
    const pino = loadPino();
    const out = pino.destination({
      dest: target === "on" ? 1 : openFile(target, counts),
      sync: false,
      maxLength: MAX_BUFFERED,
      maxWrite: PIPE_BUF,
      append: true,
    });
    out.on("drop", () => {
      counts.dropped++;
    });
    // A file that stops taking writes (disk full, removed mount): lines are lost, the echo not.
    out.on("error", () => {
      counts.dropped++;
    });
    this.#out = out;
    this.#log = pino(
      { base: { worker }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "msg" },
      out,
    );
  }

  /** Log `req` when its answer ends (or is cut off): counts its body bytes in and out. */
  request(req: IncomingMessage, res: ServerResponse, protocol: "http" | "http2"): void {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (this.#ignore?.test(path)) return;
    const began = performance.now();
    // Now: an HTTP/2 stream's socket is gone by the time it closes.
    const from = remote(req.socket);
    let bytesIn = 0;
    let bytesOut = 0;
    req.on("data", (chunk: Buffer) => {
      bytesIn += chunk.length;
    });
    const write = res.write as Write;
    const end = res.end as (...a: unknown[]) => ServerResponse;
    res.write = function (this: ServerResponse, chunk: Chunk, ...rest: unknown[]) {
      bytesOut += size(chunk, rest[0]);
      return write.call(this, chunk, ...rest);
    } as typeof res.write;
    res.end = function (this: ServerResponse, ...a: unknown[]) {
      // HTTP/2's compat end(data) writes its data through write(): counted there, not twice.
      const before = bytesOut;
      const r = end.apply(this, a);
      if (bytesOut === before && typeof a[0] !== "function") bytesOut += size(a[0], a[1]);
      return r;
    } as typeof res.end;
    res.once("close", () => {
      this.#line({
        kind: "http",
        protocol,
        method: req.method,
        path,
        status: res.headersSent ? res.statusCode : 0,
        ...(res.writableFinished ? {} : { aborted: true }),
        in: bytesIn,
        out: bytesOut,
        ms: Math.round((performance.now() - began) * 1000) / 1000,
        ...from,
      });
    });
  }

  /** Log a TCP echo connection (TLS: `tls`) when it closes. */
  connection(socket: Socket, tls: boolean): void {
    const began = performance.now();
    const from = remote(socket);
    socket.once("close", (hadError: boolean) => {
      this.#line({
        kind: "tcp",
        protocol: tls ? "tls" : "tcp",
        in: socket.bytesRead,
        out: socket.bytesWritten,
        ms: Math.round(performance.now() - began),
        ...(hadError ? { error: true } : {}),
        ...from,
      });
    });
  }

  /** Log a WebSocket connection when it closes, with its close code. */
  websocket(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    const began = performance.now();
    const from = remote(socket);
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    if (this.#ignore?.test(path)) return;
    ws.once("close", (code: number) => {
      this.#line({
        kind: "websocket",
        path,
        code,
        in: socket.bytesRead,
        out: socket.bytesWritten,
        ms: Math.round(performance.now() - began),
        ...from,
      });
    });
  }

  #line(fields: Record<string, unknown>): void {
    this.#counts.lines++;
    this.#log.info(fields, "access");
  }

  /**
   * Write out what is buffered (a loop's drain is over), for at most `ms`: a destination that
   * takes nothing (a pipe nobody reads) must not hold the drain up, so never a sync flush.
   * Never rejects.
   */
  async flush(ms = FLUSH_MS): Promise<void> {
    const out = this.#out as unknown as { flush(cb: (err?: Error) => void): void };
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      try {
        out.flush(() => resolve());
      } catch {
        resolve(); // nothing opened yet, or destroyed: nothing to wait for
      }
    });
    clearTimeout(timer);
  }
}
