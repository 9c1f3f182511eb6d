/**
 * A service-level objective over a load report: `p99=5ms,p999=20ms,errors=0` — latency
 * percentiles at most a duration (`p50`, `p90`, `p99`, `p999`, `max`; `us`, `ms` or `s`, a bare
 * number is milliseconds), and failed messages at most a count (`errors=0`) or a share of the
 * attempts (`errors=0.1%`). Failed: errors, timeouts and (UDP) losses within the window, and
 * mismatched echoes. `merge --slo` gates on it; the capacity search (capacity.ts) searches by it.
 */
import type { LoadReport } from "../run.ts";

const LATENCY = {
  p50: "p50_us",
  p90: "p90_us",
  p99: "p99_us",
  p999: "p999_us",
  max: "max_us",
} as const;
type LatencyKey = keyof typeof LATENCY;
const KEYS = [...Object.keys(LATENCY), "errors"];

export interface Slo {
  /** Each percentile's bound in microseconds. */
  readonly latencyUs: Readonly<Partial<Record<LatencyKey, number>>>;
  /** Failed messages at most: a count, or (percent) a share of the attempts. */
  readonly errors: { readonly at: number; readonly percent: boolean } | null;
  /** As the user wrote it, for messages. */
  readonly text: string;
}

const UNIT_US: Readonly<Record<string, number>> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };
const HOUR_US = 3_600_000_000;

/** The SLO `text` says, or the sentence saying what is wrong with it (for a usage error). */
export function parseSlo(text: string): Slo | string {
  const latencyUs: Partial<Record<LatencyKey, number>> = {};
  let errors: Slo["errors"] = null;
  const seen = new Set<string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq < 0 ? part.length : eq).trim();
    const value = eq < 0 ? "" : part.slice(eq + 1).trim();
    if (!KEYS.includes(key)) return `'${key}' is not one of ${KEYS.join(", ")} (p99=5ms,errors=0)`;
    if (seen.has(key)) return `${key} is given twice`;
    seen.add(key);
    if (key === "errors") {
      const m = /^(\d{1,12}(?:\.\d{1,6})?)(%?)$/.exec(value);
      const at = m === null ? Number.NaN : Number(m[1]);
      if (m === null || (m[2] === "%" ? at > 100 : !Number.isInteger(at)))
        return `errors: '${value}' is not a count (0) or a percent from 0 to 100 (0.1%)`;
      errors = { at, percent: m[2] === "%" };
      continue;
    }
    const m = /^(\d{1,10}(?:\.\d{1,6})?)(us|µs|ms|s)?$/.exec(value);
    const us = m === null ? Number.NaN : Number(m[1]) * (UNIT_US[m[2] ?? "ms"] as number);
    if (!(us > 0 && us <= HOUR_US))
      return `${key}: '${value}' is not a duration above 0 and at most 1 hour (5ms, 250us, 1.5s)`;
    latencyUs[key as LatencyKey] = us;
  }
  return { latencyUs, errors, text };
}

/** What fails in a run, besides its messages: errors, timeouts, losses and mismatches. */
function failed(r: LoadReport): { count: number; pct: number } {
  const count = r.failed_in_window + r.mismatches;
  const attempts = r.messages + count;
  return { count, pct: attempts === 0 ? 0 : (count / attempts) * 100 };
}

const shown = (us: number): string =>
  us >= 1_000_000 ? `${us / 1_000_000} s` : us >= 1000 ? `${us / 1000} ms` : `${us} us`;

/** How `r` breaks `slo`: one phrase per objective it misses (none: it met the SLO). */
export function breaches(r: LoadReport, slo: Slo): string[] {
  const out: string[] = [];
  for (const [key, bound] of Object.entries(slo.latencyUs) as [LatencyKey, number][]) {
    const got = r[LATENCY[key]];
    if (got > bound) out.push(`${key} ${shown(got)} > ${shown(bound)}`);
  }
  if (r.samples === 0 && Object.keys(slo.latencyUs).length > 0)
    out.push("no latency measured (nothing was echoed)");
  if (slo.errors !== null) {
    const f = failed(r);
    if (slo.errors.percent && f.pct > slo.errors.at)
      out.push(`errors ${Math.round(f.pct * 1000) / 1000}% > ${slo.errors.at}%`);
    if (!slo.errors.percent && f.count > slo.errors.at)
      out.push(`errors ${f.count} > ${slo.errors.at}`);
  }
  return out;
}
