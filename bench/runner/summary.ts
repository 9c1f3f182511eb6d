/**
 * Repetitions -> one row per (scenario, variant): medians with min–max, the ratio to the
 * section's baseline (the single loop, in the echo suite) (computed per round, against the baseline of the same round, then the
 * median of those ratios), CPU per unit, per-worker connection counts, failures, and whether
 * the client, not the server, was the limit.
 */
import { median, ratio, type Spread, spread } from "../lib/stats.ts";
import type { RunRecord } from "./measure.ts";

export interface Row {
  readonly suite: string;
  readonly baseline: boolean;
  readonly scenario: string;
  readonly variant: string;
  readonly mode: string;
  readonly workers: number;
  readonly runs: number;
  readonly failed: number;
  /** Messages per second (churn: connections per second). */
  readonly rate: Spread;
  /** rate / the same round's baseline rate (the single loop, in the echo suite). */
  readonly vsSingle: Spread;
  readonly mbPerS: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  /** Open loop: p50 and p99 from the actual send rather than the intended one. */
  readonly sentP50: number;
  readonly sentP99: number;
  readonly serverUs: number;
  /** The same CPU split by process: the primary's (serial in handoff and cluster) and the rest. */
  readonly primaryUs: number;
  readonly workerUs: number;
  readonly clientUs: number;
  /** Resident memory at the end of the window, MiB: the primary, the largest worker (medians). */
  readonly rssPrimary: number;
  readonly rssWorker: number;
  readonly serverCores: number;
  /** Cores of the busiest event loop, and of worker threads (pool threads), medians. */
  readonly busiestLoopCores: number;
  readonly workerThreadCores: number;
  readonly clientCores: number;
  /** Connections served per worker, summed over the runs. */
  readonly served: number[];
  /** Busiest worker's share over an even share (1 = even); NaN with one worker. */
  readonly skew: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  /** Connections with a message that waited through a whole window, summed over the runs. */
  readonly stalled: number;
  /** Runs flagged client-bound, and the first reason given. */
  readonly clientBound: number;
  readonly boundReason: string;
}

export function skew(served: readonly number[]): number {
  const total = served.reduce((a, b) => a + b, 0);
  if (served.length < 2 || total === 0) return Number.NaN;
  return Math.max(...served) / (total / served.length);
}

export function summarize(records: readonly RunRecord[]): Row[] {
  const baseline = new Map<string, number>(); // scenario|round -> baseline rate
  for (const r of records)
    if (r.baseline && r.load) baseline.set(`${r.scenario}|${r.round}`, r.load.msgs_per_s);
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = `${r.scenario}|${r.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: Row[] = [];
  for (const group of groups.values()) {
    const first = group[0] as RunRecord;
    const ok = group.filter((r) => r.load !== undefined);
    const loads = ok.map((r) => r.load as NonNullable<RunRecord["load"]>);
    const med = (f: (r: RunRecord) => number | undefined) =>
      median(ok.map((r) => f(r) ?? Number.NaN));
    const ratios = ok
      .map((r) => ratio(r.load?.msgs_per_s ?? 0, baseline.get(`${r.scenario}|${r.round}`) ?? 0))
      .filter((x) => !Number.isNaN(x));
    const served: number[] = [];
    for (const r of ok)
      for (const [i, n] of (r.served ?? []).entries()) served[i] = (served[i] ?? 0) + n;
    const bound = ok.filter((r) => (r.client_bound?.length ?? 0) > 0);
    rows.push({
      suite: first.suite,
      baseline: first.baseline,
      scenario: first.scenario,
      variant: first.variant,
      mode: first.mode,
      workers: first.workers,
      runs: group.length,
      failed: group.length - ok.length,
      rate: spread(loads.map((l) => l.msgs_per_s)),
      vsSingle: spread(ratios),
      mbPerS: median(loads.map((l) => l.mb_per_s)),
      p50: median(loads.map((l) => l.p50_us)),
      p90: median(loads.map((l) => l.p90_us)),
      p99: median(loads.map((l) => l.p99_us)),
      p999: median(loads.map((l) => l.p999_us)),
      sentP50: median(loads.map((l) => l.service_p50_us)),
      sentP99: median(loads.map((l) => l.service_p99_us)),
      serverUs: med((r) => r.server_us_per_unit),
      primaryUs: med((r) => r.server_split_us?.primary),
      workerUs: med((r) => r.server_split_us?.workers),
      rssPrimary: med((r) => r.rss_mib?.primary),
      rssWorker: med((r) => (r.rss_mib?.workers.length ? Math.max(...r.rss_mib.workers) : 0)),
      clientUs: med((r) => r.client_us_per_unit),
      serverCores: med((r) => r.server_cores),
      busiestLoopCores: med((r) => r.server_threads?.busiestLoop),
      workerThreadCores: med((r) => r.server_threads?.workerThreads),
      clientCores: med((r) => r.client_cores),
      served,
      skew: skew(served),
      errors: loads.reduce((a, l) => a + l.errors, 0),
      timeouts: loads.reduce((a, l) => a + l.timeouts, 0),
      mismatches: loads.reduce((a, l) => a + l.mismatches, 0),
      stalled: loads.reduce((a, l) => a + (l.stalled ?? 0), 0),
      clientBound: bound.length,
      boundReason: bound[0]?.client_bound?.[0] ?? "",
    });
  }
  return rows;
}
