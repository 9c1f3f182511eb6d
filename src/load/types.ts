/** What the load client's main thread sends to each of its threads, and what comes back. */
import type { MessagePort } from "node:worker_threads";
import type { Slice } from "./report/intervals.ts";

/** churn: connect loops, closed; open-churn: new connections at a rate (--churn --rate). */
export type Workload = "steady" | "open" | "churn" | "open-churn";

/** What the load client's own connections speak: TCP echo, WebSocket at /ws, UDP, or h2c POSTs. */
export type Framing = "tcp" | "ws" | "udp" | "http2";

export interface GroupTask {
  readonly host: string;
  readonly port: number;
  readonly protocol: Framing;
  /** Over TLS: null for none; else whether the server's certificate must verify. */
  readonly tls: { readonly verify: boolean } | null;
  /**
   * Connections this thread keeps (steady, open), concurrent connect loops (churn), or
   * connections open at most at once (open-churn).
   */
  readonly connections: number;
  readonly size: number;
  /** Messages in flight per connection (steady). */
  readonly pipeline: number;
  /** Messages per second over this thread's connections (open loop); at the window's end `rateEnd`. */
  readonly rate: number;
  /**
   * --rate A..B: the rate at the window's end (the same as `rate` without a ramp), reached
   * linearly, or in `rateSteps` levels (0: linearly).
   */
  readonly rateEnd: number;
  readonly rateSteps: number;
  /** --interval: slices of this length (ms) sent on `progress` as each ends; 0: none. */
  readonly intervalMs: number;
  readonly progress: MessagePort | null;
  readonly workload: Workload;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /**
   * Start barrier: [0] counts threads that are connected; [1] becomes 1 when the main thread
   * says go, with the shared start time (epoch ms) in `start`.
   */
  readonly barrier: Int32Array;
  readonly start: Float64Array;
}

export interface GroupResult {
  /** Messages echoed back complete and intact within the measured window (churn: connections). */
  readonly messages: number;
  /** Echoed bytes received within the window. */
  readonly bytes: number;
  /** Connections that failed: refused, reset, closed by the server. */
  readonly errors: number;
  /** Messages not echoed within the timeout. */
  readonly timeouts: number;
  /** Echoed streams that differed from what was sent. */
  readonly mismatches: number;
  /**
   * Connections (steady, open) whose oldest message in flight was sent before the window and
   * was still not back at its end: starved, though not yet for the whole timeout.
   */
  readonly stalled: number;
  /** This thread's CPU seconds within the window. */
  readonly cpuSeconds: number;
  /** UDP: datagrams not back within the timeout; back while an older one was out; back unasked. */
  readonly lost: number;
  readonly reordered: number;
  readonly late: number;
  /** Errors, timeouts and losses within the window. */
  readonly failedInWindow: number;
  /** HDR histogram of latencies (ns), compressed. */
  readonly histogram: string;
  /** The same from the actual send time (differs from `histogram` in the open loop only). */
  readonly service: string;
  /** --interval: this thread's slices of the window, in order (also sent as each ended). */
  readonly intervals: readonly Slice[];
}
