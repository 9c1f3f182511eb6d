/**
 * UDP echo (RFC 862): each datagram goes back to its sender. An open UDP echo is a reflection and
 * amplification tool (a spoofed source makes us send to a victim), so it answers no source port
 * below 1024 (another echo or chargen service would answer back: a loop), answers each source
 * address at most --udp-rate datagrams a second, and stops answering while its send queue is
 * full. Every datagram not answered is counted, by reason.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { listenError } from "../errors.ts";
import { SourceLimiter } from "./rate-limit.ts";
import type { Work } from "./work.ts";

/** Source ports below this are privileged services: never answered. */
export const MIN_SOURCE_PORT = 1024;
/** Bytes waiting in the kernel-bound send queue past which datagrams are dropped. */
export const MAX_SEND_QUEUE = 4 * 1024 * 1024;
/** How often refilled buckets are forgotten. */
const SWEEP_MS = 10_000;

export interface UdpStats {
  received: number;
  answered: number;
  /** Dropped: the source port is below 1024. */
  reflection: number;
  /** Dropped: the source address ran out of tokens. */
  rateLimited: number;
  /** Dropped: the send queue was full. */
  queueFull: number;
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

export function createUdpEcho(rate: number, work: Work | null): UdpEcho {
  const stats: UdpStats = { received: 0, answered: 0, reflection: 0, rateLimited: 0, queueFull: 0 };
  const limiter = rate > 0 ? new SourceLimiter(rate) : null;
  let socket: Socket | undefined;
  const sweep = setInterval(() => limiter?.sweep(), SWEEP_MS);
  sweep.unref();

  function answer(this: Socket, message: Buffer, from: RemoteInfo): void {
    // An offloaded digest can come back after close(), when send() would throw.
    if (socket !== this) return;
    this.send(message, from.port, from.address);
    stats.answered++;
  }

  function onMessage(this: Socket, message: Buffer, from: RemoteInfo): void {
    stats.received++;
    const drop = dropReason(from.port, from.address, limiter, this.getSendQueueSize());
    if (drop !== null) stats[drop]++;
    else if (work === null) answer.call(this, message, from);
    else {
      const digest = work.digest(message);
      if (typeof digest === "string") answer.call(this, message, from);
      else digest.then(() => answer.call(this, message, from), ignore);
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
