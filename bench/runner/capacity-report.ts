/**
 * The capacity section's table, verdict and knee chart (capacity.ts runs the searches). At
 * capacity: the figures of the last step that met the SLO at the rate found (the confirmation),
 * medians over rounds.
 */
import type { TopLevelSpec } from "vega-lite";
import { parseSlo } from "../../src/load/report/slo.ts";
import { median, ratio, type Spread, spread } from "../lib/stats.ts";
import type { CapacityPlan, CapacityRecord, CapacityStep } from "./capacity.ts";

export interface CapacityRow {
  readonly scenario: string;
  readonly variant: string;
  readonly baseline: boolean;
  readonly capacity: Spread;
  readonly vs: Spread;
  /** Medians, at capacity. */
  readonly p99: number;
  readonly serverUs: number;
  readonly clientUs: number;
  readonly serverCores: number;
  readonly clientCores: number;
  /**
   * Searches whose client was the limit; whose rate did not hold on confirmation (left out of
   * capacity and vs); that failed.
   */
  readonly clientLimited: number;
  readonly unconfirmed: number;
  readonly failed: number;
  readonly error?: string;
}

/** The step that met the SLO at the capacity found, the last such (the confirmation). */
export function atCapacity(r: CapacityRecord): CapacityStep | undefined {
  return r.steps.findLast((s) => s.met && s.rate === r.capacity);
}

export function capacityRows(records: readonly CapacityRecord[]): CapacityRow[] {
  const rows: CapacityRow[] = [];
  for (const scenario of [...new Set(records.map((r) => r.scenario))]) {
    const mine = records.filter((r) => r.scenario === scenario);
    const baseOf = (round: number) =>
      mine.find((r) => r.baseline && r.round === round && r.confirmed);
    for (const variant of [...new Set(mine.map((r) => r.variant))]) {
      const all = mine.filter((r) => r.variant === variant);
      const ran = all.filter((r) => r.error === undefined);
      // A search whose confirmation missed twice found no rate that held: counted apart, not
      // as a capacity of 0 (on a noisy machine one such search would halve a median of two).
      const ok = ran.filter((r) => r.confirmed);
      const at = ok.map(atCapacity).filter((s) => s !== undefined);
      const m = (f: (s: CapacityStep) => number) => median(at.map(f));
      const error = all.find((r) => r.error !== undefined)?.error;
      rows.push({
        scenario,
        variant,
        baseline: all[0]?.baseline ?? false,
        capacity: spread(ok.map((r) => r.capacity)),
        vs: spread(
          ok.map((r) => ratio(r.capacity, baseOf(r.round)?.capacity ?? 0)).filter(Number.isFinite),
        ),
        p99: m((s) => s.p99_us),
        serverUs: m((s) => s.server_us),
        clientUs: m((s) => s.client_us),
        serverCores: m((s) => s.server_cores),
        clientCores: m((s) => s.client_cores),
        clientLimited: ok.filter((r) => r.client_limited).length,
        unconfirmed: ran.length - ok.length,
        failed: all.length - ran.length,
        ...(error === undefined ? {} : { error }),
      });
    }
  }
  return rows;
}

const int = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–";
const fixed = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : "–");

function cells(r: CapacityRow, baseline: string): string[] {
  const c = r.capacity;
  const notes = [
    r.clientLimited > 0 ? `**client-bound** in ${r.clientLimited}: at least this` : "",
    r.unconfirmed > 0 ? `${r.unconfirmed} not confirmed (left out)` : "",
    r.failed > 0 ? `${r.failed} failed: ${r.error}` : "",
  ].filter(Boolean);
  return [
    r.variant,
    `${int(c.median)} (${int(c.min)}–${int(c.max)})`,
    r.baseline
      ? "1"
      : `${fixed(r.vs.median, 2)}× (${fixed(r.vs.min, 2)}–${fixed(r.vs.max, 2)}) vs ${baseline}`,
    int(r.p99),
    `${fixed(r.serverUs, 1)} / ${fixed(r.clientUs, 1)}`,
    `${fixed(r.serverCores, 2)} / ${fixed(r.clientCores, 2)}`,
    notes.join("; "),
  ].map((x) => x.replaceAll("|", "\\|"));
}

export function capacityMarkdown(rows: readonly CapacityRow[], plan: CapacityPlan): string {
  if (rows.length === 0) return "";
  const out = [
    `## Capacity: the highest open-loop rate within ${plan.slo}`,
    "",
    `Per mode, the load client's search (\`echoplex-load --slo\`: rates doubled until a step misses, bisection to 15%, a confirmation run): the highest rate whose ${plan.seconds} s step met the SLO with at least 90% of what was offered back. Latency counts from each message's (churn: connection's) intended time. A search whose confirmation missed twice is left out of capacity and vs, and counted. At capacity: the confirmation step's p99 and the CPU server and client spent per unit. knee.svg draws p99 against the rate offered, every step of every round.`,
    "",
  ];
  for (const s of plan.scenarios) {
    const mine = rows.filter((r) => r.scenario === s.id);
    if (mine.length === 0) continue;
    const unit = s.churn ? "conn" : "msg";
    out.push(
      `### ${s.id}${s.churn ? ` (new connections a second, at most ${s.connections} open)` : ""}`,
      "",
      `| variant | capacity ${unit}/s | vs | p99 µs at capacity | server / client µs per ${unit} | server / client cores | |`,
      "|---|---|---|---|---|---|---|",
      ...mine.map((r) => `| ${cells(r, plan.baseline.id).join(" | ")} |`),
      "",
    );
    const best = mine
      .filter((r) => Number.isFinite(r.capacity.median))
      .sort((a, b) => b.capacity.median - a.capacity.median)[0];
    if (best !== undefined)
      out.push(
        `Highest: ${best.variant}, ${int(best.capacity.median)} ${unit}/s${best.baseline ? "" : ` (${fixed(best.vs.median, 2)}× ${plan.baseline.id})`}, the median of ${best.capacity.n} confirmed search${best.capacity.n === 1 ? "" : "es"}${best.clientLimited > 0 ? "; the client was the limit, so at least that" : ""}.`,
        "",
      );
  }
  return out.join("\n");
}

/** Latency against offered rate (log-log), a line per variant and round, the SLO's p99 ruled. */
export function kneeSpec(
  records: readonly CapacityRecord[],
  slo: string,
): TopLevelSpec | undefined {
  const data = records.flatMap((r) =>
    r.steps.map((s) => ({
      scenario: r.scenario,
      variant: r.variant,
      line: `${r.variant} ${r.round}`,
      rate: s.rate,
      p99: Math.max(s.p99_us, 1),
      met: s.met ? "met" : "missed",
    })),
  );
  if (data.length === 0) return undefined;
  const parsed = parseSlo(slo);
  const limit = typeof parsed === "string" ? undefined : parsed.latencyUs.p99;
  const x = { field: "rate", type: "quantitative", scale: { type: "log" }, title: "offered /s" };
  const y = { field: "p99", type: "quantitative", scale: { type: "log" }, title: "p99 µs" };
  const color = { field: "variant", type: "nominal", legend: { labelLimit: 240 } };
  return {
    title: `The knee: p99 against offered rate, every search step (SLO ${slo})`,
    data: { values: data },
    facet: { field: "scenario", title: null },
    columns: 2,
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: 320,
      height: 220,
      layer: [
        {
          mark: { type: "line", opacity: 0.6 },
          encoding: { x, y, color, detail: { field: "line" }, order: { field: "rate" } },
        },
        {
          mark: { type: "point", filled: true },
          encoding: {
            x,
            y,
            color,
            shape: { field: "met", type: "nominal", title: "step" },
          },
        },
        ...(limit === undefined
          ? []
          : [{ mark: { type: "rule", strokeDash: [4, 3] }, encoding: { y: { datum: limit } } }]),
      ],
    },
  } as TopLevelSpec;
}
