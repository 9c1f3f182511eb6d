/**
 * Several load clients, one target: reports saved by `npm run load -- --save FILE` on different
 * hosts, measured over the same window (`--at`), merged into one. Counts and rates add up; the
 * latency percentiles come from the sum of the HDR histograms, which is exact (histogram.ts),
 * not from averaging percentiles, which would be wrong.
 */

import { failedShare, type LoadReport } from "../run.ts";
import { encodeHistogram, mergeHistograms, summarize } from "./histogram.ts";
import { mergeRows } from "./intervals.ts";

export interface MergedReport extends LoadReport {
  /** How many client reports were merged. */
  readonly clients: number;
  /**
   * The percentiles come from the merged histograms (exact); false when a report had none (an
   * HTTP run's, through autocannon): then each is the worst client's, an upper bound.
   */
  readonly latency_exact: boolean;
}

const PERCENTILES = ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] as const;

/** Without every histogram: each percentile the worst client's, the mean weighted by samples. */
function worstLatency(reports: readonly LoadReport[]) {
  const samples = reports.reduce((n, r) => n + r.samples, 0);
  const out: Record<string, number> = { samples };
  for (const p of PERCENTILES) out[p] = Math.max(...reports.map((r) => r[p]));
  out.mean_us =
    samples === 0
      ? 0
      : Math.round((reports.reduce((n, r) => n + r.mean_us * r.samples, 0) / samples) * 100) / 100;
  return out as Pick<LoadReport, (typeof PERCENTILES)[number] | "samples" | "mean_us">;
}

const sum = (reports: readonly LoadReport[], key: keyof LoadReport): number =>
  reports.reduce((total, r) => total + ((r[key] as number | undefined) ?? 0), 0);

export function mergeReports(reports: readonly LoadReport[]): MergedReport {
  const [first] = reports;
  if (first === undefined) throw new Error("nothing to merge");
  const exact = reports.every((r) => r.histogram !== "");
  const histogram = exact ? mergeHistograms(reports.map((r) => r.histogram)) : null;
  const service = (p: number) =>
    Math.max(...reports.map((r) => (p === 50 ? r.service_p50_us : r.service_p99_us)));
  const { intervals: _, ...head } = first;
  return {
    ...head,
    ...(histogram === null ? worstLatency(reports) : summarize(histogram)),
    host: [...new Set(reports.map((r) => r.host))].join(","),
    connections: sum(reports, "connections"),
    rate: sum(reports, "rate"),
    threads: sum(reports, "threads"),
    seconds: Math.max(...reports.map((r) => r.seconds)),
    msgs_per_s: sum(reports, "msgs_per_s"),
    mb_per_s: Math.round(sum(reports, "mb_per_s") * 100) / 100,
    messages: sum(reports, "messages"),
    errors: sum(reports, "errors"),
    timeouts: sum(reports, "timeouts"),
    mismatches: sum(reports, "mismatches"),
    stalled: sum(reports, "stalled"),
    ...failedShare(sum(reports, "messages"), sum(reports, "failed_in_window")),
    // UDP's own counts, summed like the others (they were the first host's alone).
    ...(first.protocol === "udp"
      ? {
          lost: sum(reports, "lost"),
          reordered: sum(reports, "reordered"),
          late: sum(reports, "late"),
          udp_limit_suspected: reports.some((r) => r.udp_limit_suspected === true),
        }
      : {}),
    client_cpu_s: Math.round(sum(reports, "client_cpu_s") * 100) / 100,
    client_thread_cores: reports.flatMap((r) => r.client_thread_cores),
    // One saturated client limits the total as surely as a saturated server would.
    client_saturated: reports.some((r) => r.client_saturated),
    // Per-send service times have no histogram: the worst client's figure, an upper bound.
    service_p50_us: service(50),
    service_p99_us: service(99),
    histogram: histogram === null ? "" : encodeHistogram(histogram),
    clients: reports.length,
    latency_exact: exact,
    // --interval on every host: the series, interval by interval, from the summed histograms.
    ...(reports.every((r) => r.intervals !== undefined)
      ? { intervals: mergeRows(reports.map((r) => r.intervals ?? [])) }
      : {}),
  };
}
