/**
 * UDP echo (RFC 862): each datagram goes back to its sender. An open UDP echo is a reflection and
 * amplification tool (a spoofed source makes us send to a victim), so it answers no source port
 * below 1024 (another echo or chargen service would answer back: a loop), breaks loops with
 * echo services on higher ports (udp-loop.ts), answers each source address at most --udp-rate
 * datagrams a second and all sources together at most REPLY_BUDGET a second per worker, and stops
 * answering while its send queue is full or (--offload) MAX_IN_FLIGHT digests are out. Every
 * datagram not answered is counted, by reason.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { listenError } from "../errors.ts";
import type { Faults } from "./faults.ts";
import { SourceLimiter } from "./rate-limit.ts";
import { LoopGuard } from "./udp-loop.ts";
import type { Work } from "./work.ts";

/** Source ports below this are privileged services: never answered. */
export const MIN_SOURCE_PORT = 1024;
/** Bytes waiting in the kernel-bound send queue past which datagrams are dropped. */
export const MAX_SEND_QUEUE = 4 * 1024 * 1024;
/** How often refilled buckets are forgotten. */
const SWEEP_MS = 10_000;
/** Replies a worker sends per second at most, to all sources together. */
export const REPLY_BUDGET = 200_000;
/** Datagrams a worker has on its offload pool at most. */
export const MAX_IN_FLIGHT = 1_024;

export interface UdpStats {
  received: number;
  answered: number;
  /** Dropped: the source port is below 1024. */
  reflection: number;
  /** Dropped: the source address ran out of tokens. */
  rateLimited: number;
  /** Dropped: the send queue was full. */
  queueFull: number;
  /** Dropped: byte-identical to the reply just sent to the same address and port (udp-loop.ts). */
  loop: number;
  /** Dropped: the worker's reply budget or its offload slots were used up. */
  busy: number;
  /** Dropped: our own exception while handling it (also counted as errors{kind="internal"}). */
  failed: number;
}

export type DropReason = "reflection" | "rateLimited" | "queueFull";

/** Why a datagram from `port`/`address` goes unanswered, or null to answer it. */
export function dropReason(
  port: number,
  address: string,
  limiter: SourceLimiter | null,
  queuedBytes: number,
): DropReason | null {
  // Checked first, so reflected traffic takes no tokens from the address it claims.
  if (port < MIN_SOURCE_PORT) return "reflection";
  if (limiter !== null && !limiter.take(address)) return "rateLimited";
  if (queuedBytes > MAX_SEND_QUEUE) return "queueFull";
  return null;
}

export interface UdpEcho {
  readonly stats: UdpStats;
  bind(host: string, port: number, reusePort: boolean): Promise<number>;
  close(): void;
}

export function createUdpEcho(rate: number, work: Work | null, faults: Faults): UdpEcho {
  const stats: UdpStats = {
    received: 0,
    answered: 0,
    reflection: 0,
    rateLimited: 0,
    queueFull: 0,
    loop: 0,
    busy: 0,
    failed: 0,
  };
  const limiter = rate > 0 ? new SourceLimiter(rate) : null;
  const loops = new LoopGuard();
  const budget = new SourceLimiter(REPLY_BUDGET, 1);
  let inFlight = 0;
  let socket: Socket | undefined;
  const sweep = setInterval(() => limiter?.sweep(), SWEEP_MS);
  sweep.unref();

  function answer(this: Socket, message: Buffer, from: RemoteInfo): void {
    // An offloaded digest can come back after close(), when send() would throw.
    if (socket !== this) return;
    this.send(message, from.port, from.address);
    stats.answered++;
  }

  function offloaded(s: Socket, message: Buffer, from: RemoteInfo, digest: Promise<string>): void {
    inFlight++;
    const done = (): void => {
      inFlight--;
      answer.call(s, message, from);
    };
    digest.then(done, () => {
      inFlight--;
    });
  }

  function handle(s: Socket, message: Buffer, from: RemoteInfo): void {
    // Reflection first, so reflected traffic takes no tokens from the address it claims.
    const drop = dropReason(from.port, from.address, null, 0);
    if (drop !== null) stats[drop]++;
    else if (loops.looped(`${from.address}|${from.port}`, message)) stats.loop++;
    else if (limiter !== null && !limiter.take(from.address)) stats.rateLimited++;
    else if (!budget.take("all") || inFlight >= MAX_IN_FLIGHT) stats.busy++;
    else if (s.getSendQueueSize() > MAX_SEND_QUEUE) stats.queueFull++;
    else if (work === null) answer.call(s, message, from);
    else {
      const digest = work.digest(message);
      if (typeof digest === "string") answer.call(s, message, from);
      else offloaded(s, message, from, digest);
    }
  }

  function onMessage(this: Socket, message: Buffer, from: RemoteInfo): void {
    stats.received++;
    try {
      handle(this, message, from);
    } catch (err) {
      stats.failed++;
      faults.caught(err, "udp");
    }
  }

  return {
    stats,
    bind(bindHost, port, reusePort) {
      const s = createSocket({ type: isIPv6(bindHost) ? "udp6" : "udp4", reusePort });
      socket = s;
      return new Promise((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) =>
          reject(listenError(err, bindHost, port, "--udp"));
        s.once("error", failed);
        // exclusive: under node:cluster a worker binds its own socket rather than share the
        // primary's; with reusePort the kernel spreads datagrams over the workers' sockets.
        s.bind({ address: bindHost, port, exclusive: true }, () => {
          s.off("error", failed);
          s.on("error", ignore);
          s.on("message", onMessage);
          resolve(s.address().port);
        });
      });
    },
    close() {
      clearInterval(sweep);
      socket?.close();
      socket = undefined;
    },
  };
}

function ignore(): void {}
