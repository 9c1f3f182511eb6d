/**
 * Load for the fault tests: many connections that stream a known byte pattern and check every
 * byte that comes back as it arrives, and a prober that keeps opening new connections and counts
 * the ones that fail. Together they say whether a fault refused, lost or corrupted anything.
 */
import { connect, type Socket } from "node:net";
import { HOST, open } from "./client.ts";
import { within } from "./server.ts";

const CHUNK = 16 * 1024;
/** Bytes a stream lets the server owe it before it waits (keeps every stream moving). */
const IN_FLIGHT = 64 * 1024;
/** The pattern: byte i of stream s is PATTERN[(s * 7 + i) % 251] (251 is prime, != 256). */
const PATTERN = Buffer.from(
  Array.from({ length: 251 + CHUNK }, (_, i) => ((i % 251) * 131 + 17) & 255),
);

export interface StreamsResult {
  /** Streams that ended with every byte sent echoed back, in order. */
  readonly complete: number;
  /** Streams that saw a byte differ from what was sent (must be 0, whatever the fault). */
  readonly corrupt: number;
  /** Streams that closed or errored before everything came back, with the reasons. */
  readonly broken: number;
  readonly errors: readonly string[];
  readonly bytes: number;
}

interface Stream {
  socket: Socket;
  /** The client's port (socket.localPort is gone once the socket closes). */
  readonly port: number;
  offset: number;
  sent: number;
  received: number;
  corrupt: boolean;
  broken: string | null;
  done: boolean;
}

/** Open `count` streaming connections; `stop()` ends them and waits for every echo. */
export async function startStreams(
  port: number,
  count: number,
): Promise<{ stop(ms?: number): Promise<StreamsResult>; streams: readonly Stream[] }> {
  const streams = await Promise.all(Array.from({ length: count }, (_, i) => stream(port, i)));
  let writing = true;
  const pump = (s: Stream): void => {
    while (writing && !s.broken && s.sent - s.received < IN_FLIGHT) {
      const at = (s.offset + s.sent) % 251;
      s.sent += CHUNK;
      if (!s.socket.write(PATTERN.subarray(at, at + CHUNK))) return;
    }
  };
  for (const s of streams) {
    s.socket.on("data", (data: Buffer) => {
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== PATTERN[(s.offset + s.received + i) % 251]) {
          s.corrupt = true;
          break;
        }
      }
      s.received += data.length;
      pump(s);
    });
    s.socket.on("drain", () => pump(s));
    pump(s);
  }
  return {
    streams,
    async stop(ms = 15_000) {
      writing = false;
      const ends = streams.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.broken) return resolve();
            s.socket.once("end", () => {
              s.done = true;
              resolve();
            });
            s.socket.once("close", () => resolve());
            s.socket.end();
          }),
      );
      await within(Promise.all(ends), ms, () => undefined);
      for (const s of streams) s.socket.destroy();
      const errors = streams.flatMap((s) =>
        s.broken !== null
          ? [s.broken]
          : s.received !== s.sent
            ? [`${s.received} of ${s.sent} bytes came back`]
            : [],
      );
      return {
        complete: streams.filter((s) => !s.broken && s.done && s.received === s.sent).length,
        corrupt: streams.filter((s) => s.corrupt).length,
        broken: errors.length,
        errors,
        bytes: streams.reduce((n, s) => n + s.received, 0),
      };
    },
  };
}

async function stream(port: number, index: number): Promise<Stream> {
  const socket = await open(port);
  socket.setNoDelay(true);
  const s: Stream = {
    socket,
    port: socket.localPort as number,
    offset: (index * 7) % 251,
    sent: 0,
    received: 0,
    corrupt: false,
    broken: null,
    done: false,
  };
  socket.on("error", (err) => {
    s.broken ??= err.message;
  });
  socket.on("close", () => {
    if (!s.done) s.broken ??= "closed before the echo ended";
  });
  return s;
}

/**
 * Keep opening connections (each echoes 32 bytes, then closes) until stopped. A failure is
 * `refused` when the connection was never established (refused, or no answer within
 * `timeoutMs`) and `broken` when it was and then failed (reset, or a short echo).
 */
export function startProber(port: number, concurrency = 4, timeoutMs = 3_000) {
  let running = true;
  let ok = 0;
  const refused: string[] = [];
  const broken: string[] = [];
  const probe = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = connect({ host: HOST, port });
      let connected = false;
      let got = 0;
      const finish = (failure: string | null): void => {
        clearTimeout(timer);
        socket.destroy();
        if (failure === null) ok++;
        else (connected ? broken : refused).push(failure);
        resolve();
      };
      const timer = setTimeout(() => finish("no echo within the timeout"), timeoutMs);
      socket.on("connect", () => {
        connected = true;
        socket.end(PATTERN.subarray(0, 32));
      });
      socket.on("data", (d: Buffer) => {
        got += d.length;
      });
      socket.on("end", () => finish(got === 32 ? null : `${got} of 32 bytes came back`));
      socket.on("error", (err) => finish(err.message));
    });
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await probe();
  });
  return {
    async stop(): Promise<{ ok: number; refused: string[]; broken: string[] }> {
      running = false;
      await Promise.all(loops);
      return { ok, refused, broken };
    },
  };
}
