/**
 * What `npm run bench` runs: sections (suites), each a set of scenarios (workload x payload x
 * connections) measured on the section's baseline and on each of its variants, for several
 * rounds. Within a round the baseline runs first and the variants follow in an order rotated
 * every round, so each variant is compared with a baseline measured minutes, not tens of
 * minutes, apart and no variant always follows the same neighbour.
 *
 * - echo: every mode against the single loop, over TCP;
 * - http: echoplex's HTTP echo against minimal node:http echoes (bench/servers/minimal-http.ts);
 * - websocket: echoplex's WebSocket echo against its TCP echo, in one server, one client;
 * - work: CPU work per message, inline or offloaded, single loop or handoff (see work.ts);
 * - capacity: every mode's highest open-loop rate within an SLO (capacity.ts).
 */

import type { Protocol } from "../../src/load/run.ts";
import type { Workload } from "../../src/load/types.ts";
import { MODES } from "../../src/main/config/config.ts";
import type { CapacityPlan } from "./capacity.ts";

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

export const SUITES = ["echo", "http", "websocket", "work", "churn-work", "capacity"] as const;
export type Suite = (typeof SUITES)[number];

export interface Scenario {
  readonly id: string;
  readonly workload: Workload;
  readonly size: number;
  readonly connections: number;
  /** Open loop: total messages per second. */
  readonly rate: number;
  /**
   * tcp: our load client on the echo port; http: autocannon POSTs on the HTTP port; ws: our load
   * client's WebSocket frames on the HTTP port's /ws.
   */
  readonly protocol: Protocol;
  /** Requests (messages) each connection keeps in flight; 1 unless pipelined. */
  readonly pipeline?: number;
}

export interface Variant {
  readonly id: string;
  readonly mode: string;
  readonly workers: number;
  /** More server flags, from a mode written as "handoff:--spill=off". */
  readonly flags: readonly string[];
  /** Another server program instead of echoplex (bench/servers/), with these arguments. */
  readonly program?: { readonly path: string; readonly args: readonly string[] };
  /** Load this variant over another protocol than the scenario's (WebSocket against TCP echo). */
  readonly protocol?: Protocol;
}

export const BASELINE: Variant = { id: "single", mode: "single", workers: 1, flags: [] };

/** One suite: its scenarios, each run on the baseline and on every variant. */
export interface Section {
  readonly suite: Suite;
  readonly baseline: Variant;
  readonly variants: readonly Variant[];
  readonly scenarios: readonly Scenario[];
  /** Server flags every run of the section gets, the baseline's included. */
  readonly serverFlags: readonly string[];
  /** What the report should know about the section (the work suite's calibration). */
  readonly note?: Readonly<Record<string, number | string>>;
  /**
   * Every run is loaded by the load client's own client, even with --client-command: the variants
   * differ in protocol, and only our client speaks them all, so only the protocol differs.
   */
  readonly ownClient?: boolean;
}

export interface Plan {
  readonly sections: readonly Section[];
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly threads: number;
  /** An external load client instead of ours (see bench/load/external.ts). */
  readonly clientCommand?: string;
  /** An external HTTP load client instead of autocannon, for the http scenarios. */
  readonly httpClientCommand?: string;
  /** The server's entry point: the bench builds dist/ for the run, as production runs it. */
  readonly cli?: string;
  /** The capacity section (capacity.ts): searches, not fixed runs, so apart from `sections`. */
  readonly capacity?: CapacityPlan;
}

export interface Run {
  readonly section: Section;
  readonly scenario: Scenario;
  readonly variant: Variant;
  readonly round: number;
}

export function scenario(
  workload: Workload,
  size: number,
  connections: number,
  protocol: Scenario["protocol"] = "tcp",
  prefix = "",
): Scenario {
  const rate = workload === "open" ? openRate(size) : 0;
  const what = workload === "open" ? `open ${rate}/s` : workload;
  const id = `${prefix}${what} ${formatSize(size)} x${connections}`;
  return { id, workload, size, connections, rate, protocol };
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

/** The echo suite: every mode against the single loop. */
export function echoSection(scenarios: readonly Scenario[], vs: readonly Variant[]): Section {
  return { suite: "echo", baseline: BASELINE, variants: vs, scenarios, serverFlags: [] };
}

/** Every run in order: per section, per scenario, per round, the baseline then the variants rotated. */
export function schedule(plan: Plan): Run[] {
  const runs: Run[] = [];
  for (const section of plan.sections) {
    for (const s of section.scenarios) {
      for (let round = 0; round < plan.rounds; round++) {
        runs.push({ section, scenario: s, variant: section.baseline, round });
        const n = section.variants.length;
        for (let i = 0; i < n; i++) {
          const variant = section.variants[(i + round) % n] as Variant;
          runs.push({ section, scenario: s, variant, round });
        }
      }
    }
  }
  return runs;
}
