/**
 * What more cores would do, projected from the CPU each mode spent per message (churn: per
 * connection) on this machine. A projection, not a measurement: 2 cores cannot show scaling in
 * throughput, but they show where each mode's CPU goes (docs/BENCHMARKS.md, "Projecting past
 * 2 cores").
 *
 * The model (Amdahl's law with the primary as the serial part): with N cores and a worker per
 * core, a mode's ceiling is N cores' worth of its whole cost per unit, P + W, but never more
 * than one core's worth of its serial part:
 *
 *   rate(N) = min(N / (P + W), 1 / S)      (P, W, S in core-seconds per unit)
 *
 * S is the primary's cost P where the primary touches every unit (handoff hands each
 * connection over, node:cluster's round robin too), and 0 where it does not (reuseport,
 * cluster-shared: the kernel spreads connections; threads: one process, one loop per thread).
 * The single loop is one loop whatever N: rate = 1 / (P + W). Costs the model leaves out:
 * contention in the kernel (one accept queue, SO_REUSEPORT hashing), memory bandwidth, the
 * load generator, and any per-core cost that grows with N; so read the projection as a ceiling.
 */
import type { Row } from "./summary.ts";

export const PROJECTED_CORES = [4, 8, 16, 64] as const;

/** Modes whose primary does work per message or connection, on one core. */
const SERIAL_PRIMARY = new Set(["handoff", "cluster"]);

/** The projected rate (per second) of `row`'s mode at `cores` cores, or NaN without the costs. */
export function projectedRate(row: Row, cores: number): number {
  const p = row.primaryUs / 1e6;
  const w = (Number.isNaN(row.workerUs) ? 0 : row.workerUs) / 1e6;
  if (!(p + w > 0)) return Number.NaN;
  if (row.mode === "single" || row.workers <= 1) return 1 / (p + w);
  const parallel = cores / (p + w);
  return SERIAL_PRIMARY.has(row.mode) && p > 0 ? Math.min(parallel, 1 / p) : parallel;
}

/** Rows the model applies to: the echo and churn-work suites' rows that ran. */
function projectable(rows: readonly Row[]): Row[] {
  const suites = new Set(["echo", "churn-work"]);
  return rows.filter((r) => suites.has(r.suite) && r.runs > r.failed && r.primaryUs >= 0);
}

const k = (x: number): string => (Number.isNaN(x) ? "–" : `${(x / 1000).toFixed(1)}k`);

/** The projection as markdown: per scenario, per mode, the costs and the ceilings. */
export function projectionMarkdown(rows: readonly Row[], machineCores: number): string {
  const mine = projectable(rows);
  if (mine.length === 0) return "";
  const out = [
    "## Projection past this machine's cores (a model, not a measurement)",
    "",
    "From each mode's measured CPU per unit, split by process: the primary's part (serial in handoff and node:cluster's round robin) and the workers' (parallel). Ceiling at N cores with a worker per core: min(N ÷ (primary + workers), 1 ÷ serial part); the single loop stays one loop. It leaves out kernel contention, memory bandwidth and the load generator: read it as a ceiling (docs/BENCHMARKS.md explains the model and its limits).",
    "",
  ];
  for (const s of [...new Set(mine.map((r) => r.scenario))]) {
    const unit = s.startsWith("churn") ? "conn" : "msg";
    out.push(
      `### ${s}`,
      "",
      `| variant | primary µs/${unit} | workers µs/${unit} | measured ${unit}/s (${machineCores} cores) | ${PROJECTED_CORES.map((n) => `${n} cores`).join(" | ")} | RSS MiB primary / largest worker |`,
      `|---|---|---|---|${PROJECTED_CORES.map(() => "---").join("|")}|---|`,
    );
    for (const r of mine.filter((x) => x.scenario === s)) {
      const cells = [
        r.variant,
        r.primaryUs.toFixed(1),
        Number.isNaN(r.workerUs) ? "–" : r.workerUs.toFixed(1),
        k(r.rate.median),
        ...PROJECTED_CORES.map((n) => k(projectedRate(r, n))),
        `${r.rssPrimary.toFixed(0)} / ${r.rssWorker > 0 ? r.rssWorker.toFixed(0) : "–"}`,
      ];
      out.push(`| ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** Data for the projection chart: one point per variant and core count, and the measured one. */
export function projectionData(rows: readonly Row[], machineCores: number) {
  const data: { scenario: string; variant: string; cores: number; rate: number; kind: string }[] =
    [];
  for (const r of projectable(rows)) {
    data.push({ ...pick(r), cores: machineCores, rate: r.rate.median, kind: "measured" });
    for (const n of [machineCores, ...PROJECTED_CORES]) {
      const rate = projectedRate(r, n);
      if (!Number.isNaN(rate)) data.push({ ...pick(r), cores: n, rate, kind: "projected" });
    }
  }
  return data;
}

const pick = (r: Row) => ({ scenario: r.scenario, variant: r.variant });
