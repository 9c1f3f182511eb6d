/**
 * The bench's capacity section: every mode's capacity at one SLO, the highest open-loop rate
 * whose run meets it (the load client's own search, src/load/capacity.ts), for steady echo
 * (messages a second over 50 connections) and churn (new connections a second, one 64-byte
 * round trip each, at most 50 open). Every step samples the server's CPU over the client's
 * window, so each mode's cost per message (and the client's) is known at its capacity.
 *
 * Order as in the other sections: per scenario, per round, the baseline's search on a fresh
 * server, then every variant's in an order rotated each round; capacity is the median over
 * rounds and "vs" the median of the per-round ratios to the same round's baseline.
 */
import type { StepRow } from "../../src/load/capacity.ts";
import { searchCapacity } from "../../src/load/capacity.ts";
import { parseSlo } from "../../src/load/report/slo.ts";
import { runLoad } from "../../src/load/run.ts";
import { WORKER_EXEC_ARGV } from "../../src/main/supervision/workers.ts";
import { treeCpuSeconds } from "../lib/proc.ts";
import { startServer } from "../lib/server.ts";
import { coresUsed, cpuMicrosPer } from "../lib/stats.ts";
import type { Variant } from "./plan.ts";

/** The SLO the quick preset finds every mode's capacity at. */
export const CAPACITY_SLO = "p99=10ms,errors=0";

export interface CapacityScenario {
  readonly id: string;
  /** Open-loop churn: the rate is new connections a second. */
  readonly churn: boolean;
  readonly size: number;
  /** Connections (churn: open at most at once). */
  readonly connections: number;
  /** The search's first rate. */
  readonly start: number;
}

export const CAPACITY_SCENARIOS: readonly CapacityScenario[] = [
  { id: "capacity: echo 64 B x50", churn: false, size: 64, connections: 50, start: 8000 },
  { id: "capacity: churn 64 B", churn: true, size: 64, connections: 50, start: 2000 },
];

export interface CapacityPlan {
  readonly slo: string;
  readonly baseline: Variant;
  readonly variants: readonly Variant[];
  readonly scenarios: readonly CapacityScenario[];
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly threads: number;
  readonly cli?: string | undefined;
}

/** One step with what the server and the client spent in its window. */
export interface CapacityStep extends StepRow {
  readonly server_cores: number;
  readonly client_cores: number;
  /** µs of CPU per message (churn: per connection). */
  readonly server_us: number;
  readonly client_us: number;
}

export interface CapacityRecord {
  readonly scenario: string;
  readonly variant: string;
  readonly baseline: boolean;
  readonly mode: string;
  readonly workers: number;
  readonly round: number;
  readonly capacity: number;
  readonly upper: number | null;
  readonly confirmed: boolean;
  readonly client_limited: boolean;
  readonly steps: readonly CapacityStep[];
  readonly error?: string;
}

/** Every search in order: per scenario, per round, the baseline then the variants rotated. */
export function capacitySchedule(plan: CapacityPlan) {
  const runs: { scenario: CapacityScenario; variant: Variant; round: number }[] = [];
  for (const scenario of plan.scenarios)
    for (let round = 0; round < plan.rounds; round++) {
      runs.push({ scenario, variant: plan.baseline, round });
      const n = plan.variants.length;
      for (let i = 0; i < n; i++)
        runs.push({ scenario, variant: plan.variants[(i + round) % n] as Variant, round });
    }
  return runs;
}

/** One step: an open-loop run at `rate`, its server's and client's CPU pushed to `costs`. */
async function stepOn(
  port: number,
  pid: number,
  plan: CapacityPlan,
  s: CapacityScenario,
  rate: number,
  costs: Omit<CapacityStep, keyof StepRow>[],
) {
  let cpu0 = 0;
  let cpu = 0;
  const r = await runLoad(
    {
      ...{ host: "127.0.0.1", port, connections: s.connections, size: s.size, rate },
      ...{ seconds: plan.seconds, warmupSeconds: plan.warmupSeconds, pipeline: 1 },
      ...{ churn: s.churn, threads: plan.threads, timeoutMs: 2000 },
    },
    {
      open: () => {
        cpu0 = treeCpuSeconds(pid);
      },
      close: () => {
        cpu = treeCpuSeconds(pid) - cpu0;
      },
    },
  );
  costs.push({
    server_cores: coresUsed(cpu, r.seconds),
    client_cores: coresUsed(r.client_cpu_s, r.seconds),
    server_us: cpuMicrosPer(cpu, r.messages),
    client_us: cpuMicrosPer(r.client_cpu_s, r.messages),
  });
  return r;
}

/** One search on a fresh server of the variant's mode. */
export async function searchOn(
  plan: CapacityPlan,
  run: ReturnType<typeof capacitySchedule>[number],
): Promise<CapacityRecord> {
  const { scenario: s, variant: v, round } = run;
  const base = {
    scenario: s.id,
    variant: v.id,
    baseline: v === plan.baseline,
    mode: v.mode,
    workers: v.workers,
    round,
  };
  const slo = parseSlo(plan.slo);
  if (typeof slo === "string") throw new Error(`capacity SLO: ${slo}`);
  const server = await startServer(
    [
      ...["--mode", v.mode, "--workers", String(v.workers), "--port", "0"],
      ...["--log-level", "warn", "--drain-timeout", "2", "--admin", "off"],
      ...v.flags,
    ],
    { cli: plan.cli, nodeFlags: WORKER_EXEC_ARGV },
  );
  try {
    const costs: Omit<CapacityStep, keyof StepRow>[] = [];
    const step = (rate: number) => stepOn(server.port, server.pid, plan, s, rate, costs);
    const pause = 1000 * (plan.warmupSeconds + plan.seconds);
    const found = await searchCapacity(slo, step, {
      start: s.start,
      max: 1_000_000,
      precision: 0.15,
      maxSteps: 12,
      settle: () => new Promise<void>((r) => setTimeout(r, pause)),
    });
    return {
      ...base,
      capacity: found.capacity_msgs_per_s,
      upper: found.upper_msgs_per_s,
      confirmed: found.confirmed,
      client_limited: found.client_limited,
      steps: found.steps.map((row, i) => ({ ...row, ...costs[i] }) as CapacityStep),
    };
  } catch (err) {
    const error = (err as Error).message.split("\n")[0] ?? String(err);
    return {
      ...base,
      capacity: 0,
      upper: null,
      confirmed: false,
      client_limited: false,
      steps: [],
      error,
    };
  } finally {
    await server.stop("SIGTERM");
    await Promise.race([server.closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
    if (server.proc.exitCode === null && server.proc.signalCode === null)
      await server.stop("SIGKILL");
  }
}
