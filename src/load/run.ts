/**
 * The load client's main thread: splits the connections (and the open-loop rate) into one group
 * per thread, runs the groups on a piscina pool, starts them together, and merges what they
 * measured into one report.
 */

import { Piscina } from "piscina";
import { fail } from "../errors.ts";
import type { LoadOptions, LoadReport, Protocol } from "./options.ts";
import { encodeHistogram, mergeHistograms, summarize } from "./report/histogram.ts";
import type { IntervalRow } from "./report/intervals.ts";
import { Series } from "./report/series.ts";
import type { GroupResult, GroupTask, Workload } from "./types.ts";

export type { LoadOptions, LoadReport, Protocol } from "./options.ts";

/** The thread's task file: .ts from the source, .js once built (dist/load). */
const TASK_EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** A thread (or a server) at or above this share of its cores is taken to be saturated. */
export const SATURATED = 0.9;

/** The fields of a report that restate what was asked. */
export function loadHeader(
  o: LoadOptions,
  workload: Workload,
  threads: number,
  seconds = o.seconds,
) {
  return {
    workload,
    protocol: o.protocol ?? "tcp",
    ...(o.tls === true ? { tls: true as const } : {}),
    host: o.host,
    port: o.port,
    connections: o.connections,
    size: o.size,
    pipeline: workload === "steady" ? o.pipeline : 0,
    rate: o.rate,
    ...(o.rateEnd !== undefined && o.rateEnd !== o.rate ? { rate_end: o.rateEnd } : {}),
    threads,
    seconds,
  };
}

export const workloadOf = (o: LoadOptions): Workload =>
  o.churn ? (o.rate > 0 ? "open-churn" : "churn") : o.rate > 0 ? "open" : "steady";

/** Called on the main thread as the measured window opens and closes (to sample the server). */
export interface WindowHooks {
  open?(): void;
  close?(): void;
  /** --interval: each interval once every thread has measured it, in order. */
  interval?(row: IntervalRow): void;
}

/** What the protocol cannot do, as usage errors. */
function checkProtocol(o: LoadOptions, protocol: Protocol, workload: Workload): void {
  if (protocol !== "tcp" && (workload === "churn" || workload === "open-churn"))
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--protocol ${protocol} --churn`,
      problem: "churn is TCP's (a connection per message); drop one of them",
    });
  if (protocol === "udp" && (o.size < 8 || o.size > 65_507))
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--protocol udp --size ${o.size}`,
      problem: "a datagram needs from 8 to 65507 bytes (it carries its sequence number)",
    });
  if (protocol === "udp" && o.tls === true)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: "--protocol udp --tls",
      problem: "echoplex's UDP echo has no DTLS; drop one of them",
    });
}

/** Raw TCP or WebSocket echo load from the load client's own client threads. */
export async function runLoad(o: LoadOptions, hooks?: WindowHooks): Promise<LoadReport> {
  const workload = workloadOf(o);
  const protocol = o.protocol ?? "tcp";
  if (protocol === "http") throw new Error("runLoad: HTTP load is runHttpLoad's (http.ts)");
  checkProtocol(o, protocol, workload);
  const threads = Math.max(1, Math.min(o.threads, o.connections));
  const barrier = new Int32Array(new SharedArrayBuffer(8));
  const start = new Float64Array(new SharedArrayBuffer(8));
  const intervalMs = Math.round((o.intervalSeconds ?? 0) * 1000);
  const series = new Series(threads, intervalMs, o.seconds * 1000, hooks);
  const tasks = tasksFor(o, { threads, workload, protocol, intervalMs, series, barrier, start });
  const pool = new Piscina<GroupTask, GroupResult>({
    filename: new URL(`./task${TASK_EXT}`, import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
  });
  try {
    const running = Promise.all(
      tasks.map((t) => pool.run(t, t.progress === null ? {} : { transferList: [t.progress] })),
    );
    running.catch(() => {}); // observed below; this keeps an early failure from going unhandled
    // Every thread connected: start them together, a little ahead so all see the same start.
    while (Atomics.load(barrier, 0) < threads) {
      await Promise.race([running, new Promise((r) => setTimeout(r, 5))]);
    }
    const lead = 20;
    start[0] = performance.timeOrigin + performance.now() + lead;
    Atomics.store(barrier, 1, 1);
    Atomics.notify(barrier, 1);
    const from = lead + o.warmupSeconds * 1000;
    let edges = 0; // 1 once opened, 2 once closed
    const edge = () => {
      if (edges === 0) hooks?.open?.();
      else if (edges === 1) hooks?.close?.();
      edges++;
    };
    const timers = [setTimeout(edge, from), setTimeout(edge, from + o.seconds * 1000)];
    try {
      const results = await running;
      return { ...report(o, workload, threads, results), ...series.finish(results) };
    } finally {
      series.close();
      for (const t of timers) clearTimeout(t);
      while (edges < 2) edge(); // the threads finished a hair before the main thread's timer
    }
  } finally {
    await pool.destroy();
  }
}

/** Each thread's share: its connections and rate, the shared barrier, its --interval port. */
function tasksFor(
  o: LoadOptions,
  c: {
    threads: number;
    workload: Workload;
    protocol: Exclude<Protocol, "http">;
    intervalMs: number;
    series: Series;
    barrier: Int32Array;
    start: Float64Array;
  },
): GroupTask[] {
  const tasks: GroupTask[] = [];
  for (let i = 0; i < c.threads; i++) {
    const connections =
      Math.floor(o.connections / c.threads) + (i < o.connections % c.threads ? 1 : 0);
    tasks.push({
      host: o.host,
      port: o.port,
      protocol: c.protocol,
      tls: o.tls === true ? { verify: o.insecure !== true } : null,
      connections,
      size: o.size,
      pipeline: o.pipeline,
      rate: (o.rate * connections) / o.connections,
      rateEnd: ((o.rateEnd ?? o.rate) * connections) / o.connections,
      rateSteps: o.rateSteps ?? 0,
      intervalMs: c.intervalMs,
      progress: c.series.port(),
      workload: c.workload,
      warmupMs: o.warmupSeconds * 1000,
      durationMs: o.seconds * 1000,
      timeoutMs: o.timeoutMs,
      barrier: c.barrier,
      start: c.start,
    });
  }
  return tasks;
}

/** The failures within the window, and their percent of the attempts that ended in it. */
export function failedShare(messages: number, failed: number) {
  const pct = failed === 0 ? 0 : Math.round((failed / (messages + failed)) * 10_000) / 100;
  return { failed_in_window: failed, failed_pct: pct };
}

function report(
  o: LoadOptions,
  workload: Workload,
  threads: number,
  results: readonly GroupResult[],
): LoadReport {
  const sum = (f: (r: GroupResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const merged = mergeHistograms(results.map((r) => r.histogram));
  const service = summarize(mergeHistograms(results.map((r) => r.service)));
  const cores = results.map((r) => Math.round((r.cpuSeconds / o.seconds) * 100) / 100);
  const messages = sum((r) => r.messages);
  const lost = sum((r) => r.lost);
  const saturated = cores.some((c) => c >= SATURATED);
  return {
    ...loadHeader(o, workload, threads),
    msgs_per_s: Math.round(messages / o.seconds),
    mb_per_s: Math.round((sum((r) => r.bytes) / o.seconds / 1e6) * 100) / 100,
    messages,
    ...summarize(merged),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    mismatches: sum((r) => r.mismatches),
    stalled: sum((r) => r.stalled),
    ...failedShare(
      messages,
      sum((r) => r.failedInWindow),
    ),
    // UDP only: TCP's report keeps its fields as they were.
    ...(o.protocol === "udp"
      ? {
          lost,
          reordered: sum((r) => r.reordered),
          late: sum((r) => r.late),
          udp_limit_suspected: !saturated && lost > 0 && lost >= 0.01 * (messages + lost),
        }
      : {}),
    client_cpu_s: Math.round(sum((r) => r.cpuSeconds) * 1000) / 1000,
    client_thread_cores: cores,
    client_saturated: saturated,
    service_p50_us: service.p50_us,
    service_p99_us: service.p99_us,
    histogram: encodeHistogram(merged),
  };
}
