/**
 * What a load run is asked (LoadOptions) and what it reports (LoadReport): the contract of
 * runLoad(), the command line, the library's load() and the bench.
 */
import type { LatencySummary } from "./report/histogram.ts";
import type { IntervalRow } from "./report/intervals.ts";
import type { Workload } from "./types.ts";

/**
 * tcp: raw echo; ws: WebSocket echo at /ws; udp: datagrams; http2: POSTs over h2c (all four
 * the load client's own); http: HTTP/1.1 POSTs through autocannon.
 */
export type Protocol = "tcp" | "ws" | "udp" | "http" | "http2";

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** tcp when not given. */
  readonly protocol?: Protocol;
  /** Connect over TLS (not udp); `insecure`: without checking the server's certificate. */
  readonly tls?: boolean;
  readonly insecure?: boolean;
  readonly connections: number;
  readonly size: number;
  readonly seconds: number;
  readonly pipeline: number;
  /** Total messages per second (open loop); 0 = closed loop. */
  readonly rate: number;
  /** --rate A..B[:STEPS]: the rate at the window's end, and in how many levels (0: linearly). */
  readonly rateEnd?: number;
  readonly rateSteps?: number;
  /** --interval: a row of the report every this many seconds of the window; 0 or absent: none. */
  readonly intervalSeconds?: number;
  readonly churn: boolean;
  readonly threads: number;
  readonly timeoutMs: number;
  readonly warmupSeconds: number;
}

export interface LoadReport extends LatencySummary {
  readonly workload: Workload;
  readonly protocol: Protocol;
  /** Present, true, over TLS only (a plain TCP report keeps its fields as they were). */
  readonly tls?: true;
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly size: number;
  readonly pipeline: number;
  readonly rate: number;
  readonly threads: number;
  readonly seconds: number;
  /** Messages echoed per second (churn: connections per second, one message each). */
  readonly msgs_per_s: number;
  /** Echoed megabytes (10^6 bytes) received per second: payload only (no frame headers). */
  readonly mb_per_s: number;
  readonly messages: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  /** Connections with a message that waited through the whole window (starved by the server). */
  readonly stalled: number;
  /**
   * Errors, timeouts and (UDP) losses within the window, and their share of the attempts that
   * ended in it (these and the messages): the fault rate a client saw, warm-up left out.
   */
  readonly failed_in_window: number;
  readonly failed_pct: number;
  /** UDP: datagrams lost (not back within the timeout), reordered, and back unasked (late). */
  readonly lost?: number;
  readonly reordered?: number;
  readonly late?: number;
  /**
   * UDP: at least 1% of the datagrams went unanswered while no client thread was saturated: the
   * shape of a limit at the server (echoplex's --udp-rate) more than of the client's own.
   */
  readonly udp_limit_suspected?: boolean;
  /** CPU seconds the client's threads used in the window. */
  readonly client_cpu_s: number;
  /** Cores each client thread used in the window: near 1 means that thread was the limit. */
  readonly client_thread_cores: number[];
  /** A client thread used 90% of a core or more. */
  readonly client_saturated: boolean;
  /** Open loop: p50 and p99 from the actual send, not the intended one (the client's lag shows in the gap). */
  readonly service_p50_us: number;
  readonly service_p99_us: number;
  /** The merged latency histogram (HDR, compressed), for merging across runs. */
  readonly histogram: string;
  /** --rate A..B: the rate at the window's end. */
  readonly rate_end?: number;
  /** --interval: the window, interval by interval. */
  readonly intervals?: readonly IntervalRow[];
}
