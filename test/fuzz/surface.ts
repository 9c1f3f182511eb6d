/**
 * The fuzzing harness: a surface is a server, a generator of cases, and how one case is sent.
 * Every case must be answered or closed within CASE_MS; afterwards the server must still echo on
 * a connection that was open before the case (so a worker that died fails the very case that
 * killed it) and must have logged no worker exit and no internal error (an exception of ours,
 * which the worker survives but which is a bug all the same). Seeded: a failure prints the seed and path that
 * replay it.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { HOST, random, roundTrip } from "../helpers/client.ts";
import { restarts } from "../helpers/metrics.ts";
import { type RunningServer, serve } from "../helpers/server.ts";

/** How long one case may take to be answered or closed. */
export const CASE_MS = 5_000;

export interface Surface<T> {
  readonly name: string;
  /** Server flags (on top of --port 0, --admin 0). */
  readonly args: readonly string[];
  readonly tls?: boolean;
  /** Bytes the health probe's connection sends first (a PROXY header, with --proxy-protocol on). */
  readonly probePrefix?: Buffer;
  readonly cases: fc.Arbitrary<T>;
  /** Send one case to `server`; resolve once it was answered or closed, reject if it hung. */
  send(server: RunningServer, c: T): Promise<void>;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Cases to run, or (with `ms`) as many as fit. */
  readonly numRuns?: number;
  readonly ms?: number;
}

/** Write `parts`, half-close, read until the server closes; reject after CASE_MS. */
export function sendAndClose(socket: Socket, parts: readonly Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`neither answered nor closed within ${CASE_MS} ms`));
    }, CASE_MS);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    const write = () => {
      for (const part of parts) socket.write(part);
      socket.end();
    };
    if (socket.connecting) socket.once("connect", write);
    else write();
  });
}

export function connectTo(port: number, tls = false): Socket {
  return tls
    ? tlsConnect({ host: HOST, port, rejectUnauthorized: false })
    : netConnect({ host: HOST, port });
}

/** A worker exit, or an internal error: a contained bug is still a bug (src/worker/loop/faults.ts). */
const BAD_NEWS = /^(worker exited|internal error)/;

/**
 * The server still echoes on a connection opened before the case, no worker exited and no
 * request, message or datagram met an exception of ours.
 */
class Health {
  readonly #server: RunningServer;
  readonly #tls: boolean;
  readonly #prefix: Buffer | undefined;
  #socket: Socket | undefined;
  #exits = 0;

  constructor(server: RunningServer, tls: boolean, prefix?: Buffer) {
    this.#server = server;
    this.#tls = tls;
    this.#prefix = prefix;
  }

  async open(): Promise<void> {
    const socket = connectTo(this.#server.port, this.#tls);
    await new Promise<void>((resolve, reject) => {
      socket.once(this.#tls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    if (this.#prefix !== undefined) socket.write(this.#prefix);
    this.#socket = socket;
    this.#exits = this.#workerExits();
  }

  /** Lines that say a worker died, or that our code threw while serving one client. */
  #workerExits(): number {
    return this.#server.lines.filter((l) => BAD_NEWS.test(String(l.msg))).length;
  }

  async check(): Promise<void> {
    if (this.#server.proc.exitCode !== null) throw new Error("the server exited");
    const payload = random(32);
    const back = await roundTrip(this.#socket as Socket, payload);
    if (!back.equals(payload)) throw new Error("the echo came back different");
    if (this.#workerExits() !== this.#exits) {
      const line = this.#server.lines.findLast((l) => BAD_NEWS.test(String(l.msg)));
      throw new Error(`${String(line?.msg)}: ${JSON.stringify(line?.err ?? line)}`);
    }
  }

  close(): void {
    this.#socket?.destroy();
  }
}

/** Run `surface` against a fresh server; throws (with seed and path) on the first failure. */
export async function fuzz<T>(
  t: { after(fn: () => unknown): void },
  surface: Surface<T>,
  o: FuzzOptions,
): Promise<{ cases: number }> {
  const server = await serve(t, ["--mode", "handoff", "--workers", "1", ...surface.args]);
  const health = new Health(server, surface.tls === true, surface.probePrefix);
  await health.open();
  // Closed before the server stops (t.after hooks run first to last): a drain would wait for it.
  let cases = 0;
  try {
    await fc.assert(
      fc.asyncProperty(surface.cases, async (c) => {
        cases++;
        await surface.send(server, c);
        await health.check();
      }),
      {
        seed: o.seed,
        numRuns: o.ms === undefined ? (o.numRuns ?? 100) : Number.MAX_SAFE_INTEGER,
        ...(o.ms === undefined ? {} : { interruptAfterTimeLimit: o.ms }),
        endOnFailure: true,
      },
    );
  } finally {
    health.close();
  }
  if ((await restarts(server)) !== 0) throw new Error(`${surface.name}: a worker was replaced`);
  return { cases };
}
