/**
 * UDP echo (RFC 862): each datagram goes back to its sender. An open UDP echo is a reflection and
 * amplification tool (a spoofed source makes us send to a victim), so it answers no source port
 * below 1024 (another echo or chargen service would answer back: a loop), breaks loops with
 * echo services on higher ports (loop-guard.ts), answers each source address at most --udp-rate
 * datagrams a second (but those in --udp-trusted: loopback by default, which no one outside the
 * host can claim) and all sources together at most REPLY_BUDGET a second per worker, and stops
 * answering while its send queue is full or (--offload) MAX_IN_FLIGHT digests are out. Every
 * datagram not answered is counted, by reason.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { listenError } from "../../errors.ts";
import type { UdpCounts } from "../../messages.ts";
import type { Trust } from "../../proxy-trust.ts";
import type { Faults } from "../loop/faults.ts";
import { ignore } from "../loop/ignore.ts";
import type { Work } from "../work/work.ts";
import type { UdpFaults } from "./faulty.ts";
import { LoopGuard } from "./loop-guard.ts";
import { SourceLimiter } from "./rate-limit.ts";

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

export type DropReason = "reflection" | "loop" | "rateLimited" | "busy" | "queueFull";

/** What decides whether a datagram is answered (one set per UDP socket). */
export interface Guards {
  /** Per source address (--udp-rate), or null for no limit. */
  readonly limiter: SourceLimiter | null;
  /** Sources the limiter leaves alone (--udp-trusted), or null for none. */
  readonly trusted: Trust | null;
  readonly loops: LoopGuard;
  /** The worker's reply budget: one bucket. */
  readonly budget: SourceLimiter;
  /** Datagrams on the offload pool now. */
  readonly inFlight: number;
  /** Bytes waiting in the socket's send queue. */
  readonly queued: number;
}

/** Why a datagram from `port`/`address` goes unanswered, or null to answer it. */
export function dropReason(
  port: number,
  address: string,
  data: Uint8Array,
  g: Guards,
): DropReason | null {
  // Checked first, so reflected traffic takes no tokens from the address it claims.
  if (port < MIN_SOURCE_PORT) return "reflection";
  if (g.loops.looped(`${address}|${port}`, data)) return "loop";
  if (g.limiter !== null && !g.trusted?.(address) && !g.limiter.take(address)) return "rateLimited";
  if (g.inFlight >= MAX_IN_FLIGHT || !g.budget.take("all")) return "busy";
  if (g.queued > MAX_SEND_QUEUE) return "queueFull";
  return null;
}

/**
 * `trust` with its last answer kept: datagrams come in runs from one source, and a string
 * compare costs far less than parsing the address and searching the list (~300 ns).
 */
function lastOf(trust: Trust): Trust {
  let last: string | undefined;
  let answer = false;
  return (address) => {
    if (address !== last) {
      last = address;
      answer = trust(address);
    }
    return answer;
  };
}

/** One UDP echo socket and its counters. */
export class UdpEcho {
  readonly stats: UdpCounts = {
    received: 0,
    answered: 0,
    reflection: 0,
    rateLimited: 0,
    queueFull: 0,
    loop: 0,
    busy: 0,
    failed: 0,
  };
  readonly #work: Work | null;
  readonly #faults: Faults;
  /** --udp-faults (faulty.ts), or null. */
  readonly #injected: UdpFaults | null;
  /** One object for every datagram: inFlight and queued are updated in place. */
  readonly #guards: { -readonly [K in keyof Guards]: Guards[K] };
  readonly #sweep: NodeJS.Timeout;
  #socket: Socket | undefined;

  constructor(
    rate: number,
    work: Work | null,
    faults: Faults,
    injected: UdpFaults | null = null,
    trusted: Trust | null = null,
  ) {
    this.#work = work;
    this.#faults = faults;
    this.#injected = injected;
    const limiter = rate > 0 ? new SourceLimiter(rate) : null;
    this.#guards = {
      limiter,
      trusted: trusted === null ? null : lastOf(trusted),
      loops: new LoopGuard(),
      budget: new SourceLimiter(REPLY_BUDGET, 1),
      inFlight: 0,
      queued: 0,
    };
    this.#sweep = setInterval(() => limiter?.sweep(), SWEEP_MS);
    this.#sweep.unref();
  }

  bind(host: string, port: number, reusePort: boolean): Promise<number> {
    const s = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reusePort });
    this.#socket = s;
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port, "--udp"));
      s.once("error", failed);
      // exclusive: under node:cluster a worker binds its own socket rather than share the
      // primary's; with reusePort the kernel spreads datagrams over the workers' sockets.
      s.bind({ address: host, port, exclusive: true }, () => {
        s.off("error", failed);
        s.on("error", ignore);
        s.on("message", (message: Buffer, from: RemoteInfo) => this.#onMessage(s, message, from));
        resolve(s.address().port);
      });
    });
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#injected?.close();
    this.#socket?.close();
    this.#socket = undefined;
  }

  #onMessage(s: Socket, message: Buffer, from: RemoteInfo): void {
    this.stats.received++;
    try {
      this.#handle(s, message, from);
    } catch (err) {
      this.stats.failed++;
      this.#faults.caught(err, "udp");
    }
  }

  #handle(s: Socket, message: Buffer, from: RemoteInfo): void {
    const g = this.#guards;
    g.queued = s.getSendQueueSize();
    const drop = dropReason(from.port, from.address, message, g);
    if (drop !== null) {
      this.stats[drop]++;
      return;
    }
    const digest = this.#work?.digest(message);
    if (typeof digest !== "object") {
      this.#answer(s, message, from);
      return;
    }
    g.inFlight++;
    digest.then(
      () => {
        g.inFlight--;
        this.#answer(s, message, from);
      },
      () => {
        g.inFlight--;
      },
    );
  }

  #answer(s: Socket, message: Buffer, from: RemoteInfo): void {
    const injected = this.#injected;
    if (injected === null) this.#send(s, message, from);
    else if (!injected.answer(message, (m) => this.#send(s, m, from))) this.stats.busy++;
  }

  #send(s: Socket, message: Buffer, from: RemoteInfo): void {
    // An offloaded digest (or a delayed answer) can come after close(), when send() would throw.
    if (this.#socket !== s) return;
    s.send(message, from.port, from.address);
    this.stats.answered++;
  }
}
