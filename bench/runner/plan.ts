/**
 * What `npm run bench` runs: scenarios (workload x payload x connections), each measured on
 * the single-loop baseline and on every (mode, workers) variant, for several rounds. Within a
 * round the baseline runs first and the variants follow in an order rotated every round, so
 * each variant is compared with a baseline measured minutes, not tens of minutes, apart and no
 * variant always follows the same neighbour.
 */
import { MODES } from "../../src/main/config.ts";
import type { Workload } from "../load/types.ts";

/** Every mode but the baseline, which every round runs anyway. */
export const BENCH_MODES: readonly string[] = MODES.filter((m) => m !== "single");
export const SIZES = [64, 1024, 16 * 1024, 256 * 1024] as const;
export const CONNECTIONS = [1, 50, 1000] as const;

/** Open-loop total rates per payload: well under one loop's capacity, so latency is the story. */
export function openRate(size: number): number {
  if (size <= 1024) return 20_000;
  if (size <= 16 * 1024) return 5_000;
  return 400;
}

export interface Scenario {
  readonly id: string;
  readonly workload: Workload;
  readonly size: number;
  readonly connections: number;
  /** Open loop: total messages per second. */
  readonly rate: number;
}

export interface Variant {
  readonly id: string;
  readonly mode: string;
  readonly workers: number;
  /** More server flags, from a mode written as "handoff:--spill=off". */
  readonly flags: readonly string[];
}

export const BASELINE: Variant = { id: "single", mode: "single", workers: 1, flags: [] };

export interface Plan {
  readonly scenarios: readonly Scenario[];
  readonly variants: readonly Variant[];
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly threads: number;
  /** An external load client instead of ours (see bench/load/external.ts). */
  readonly clientCommand?: string;
}

export interface Run {
  readonly scenario: Scenario;
  readonly variant: Variant;
  readonly round: number;
}

export function scenario(workload: Workload, size: number, connections: number): Scenario {
  const rate = workload === "open" ? openRate(size) : 0;
  const what = workload === "open" ? `open ${rate}/s` : workload;
  return { id: `${what} ${formatSize(size)} x${connections}`, workload, size, connections, rate };
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Every mode at every worker count; "handoff:--spill=off" is handoff with that flag. */
export function variants(modes: readonly string[], workers: readonly number[]): Variant[] {
  return modes.flatMap((spec) => {
    const [mode = spec, ...flags] = spec.split(":");
    const name = [mode, ...flags].join(" ");
    return workers.map((w) => ({ id: `${name} x${w}`, mode, workers: w, flags }));
  });
}

/** The quick preset (the default): the largest worker count, 50 connections, four scenarios. */
export function quickScenarios(): Scenario[] {
  return [
    scenario("steady", 64, 50),
    scenario("steady", 16 * 1024, 50),
    scenario("churn", 64, 50),
    scenario("open", 64, 50),
  ];
}

/** The full preset: every payload and connection count for steady; churn and open on subsets. */
export function fullScenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const size of SIZES) for (const c of CONNECTIONS) out.push(scenario("steady", size, c));
  for (const c of CONNECTIONS) out.push(scenario("churn", 64, c));
  out.push(scenario("churn", 16 * 1024, 50));
  for (const size of SIZES) out.push(scenario("open", size, 50));
  out.push(scenario("open", 64, 1000));
  return out;
}

/** Every run in order: per scenario, per round, the baseline then the variants rotated. */
export function schedule(plan: Plan): Run[] {
  const runs: Run[] = [];
  for (const s of plan.scenarios) {
    for (let round = 0; round < plan.rounds; round++) {
      runs.push({ scenario: s, variant: BASELINE, round });
      const n = plan.variants.length;
      for (let i = 0; i < n; i++) {
        runs.push({ scenario: s, variant: plan.variants[(i + round) % n] as Variant, round });
      }
    }
  }
  return runs;
}
