/**
 * `npm run bench`: every mode against the single-loop baseline, in one run, with the load
 * client (src/load). Writes bench/results/<timestamp>/ {results.json, summary.md, *.svg} and
 * prints summary.md. See docs/BENCHMARKS.md for what the presets run and how to read them.
 *
 *   npm run bench [-- --full] [--suites echo,http,work] [--modes handoff,cluster] [--workers 1,2]
 *                 [--workloads steady,churn,open] [--sizes 64,1024] [--connections 50]
 *                 [--rounds 3] [--seconds 1] [--out DIR]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SingleBar } from "cli-progress";
import { number, parseFlags, runMain, text, toggle } from "../src/args.ts";
import { EchoplexError } from "../src/errors.ts";
import { parseSlo } from "../src/load/report/slo.ts";
import type { Workload } from "../src/load/types.ts";
import { killServers } from "./lib/server.ts";
import {
  CAPACITY_SCENARIOS,
  CAPACITY_SLO,
  type CapacityPlan,
  type CapacityRecord,
  capacitySchedule,
  searchOn,
} from "./runner/capacity.ts";
import { capacityMarkdown, capacityRows, kneeSpec } from "./runner/capacity-report.ts";
import { charts, toSvg } from "./runner/charts.ts";
import { machine } from "./runner/machine.ts";
import { measure, type RunRecord } from "./runner/measure.ts";
import {
  BASELINE,
  BENCH_MODES,
  echoSection,
  fullScenarios,
  type Plan,
  quickScenarios,
  type Scenario,
  type Section,
  SUITES,
  scenario,
  schedule,
  variants,
} from "./runner/plan.ts";
import { markdown } from "./runner/report.ts";
import { churnWorkSection, httpSection, websocketSection, workSection } from "./runner/suites.ts";
import { summarize } from "./runner/summary.ts";

const COMMAND = "echoplex-bench";
const CORES = availableParallelism();

const FLAGS = {
  full: toggle("the full matrix (see docs/BENCHMARKS.md) instead of the quick preset"),
  suites: text(
    SUITES.join(","),
    "suites to run: echo (modes), http (vs node:http), websocket (vs TCP echo), work (offload), churn-work (churn, ~100 µs per connection), capacity (each mode's highest rate within --slo)",
  ),
  modes: text(
    BENCH_MODES.join(","),
    "modes compared with single, comma-separated; server flags after colons: handoff:--spill=off",
  ),
  workers: text("", `echo suite: worker counts (quick: ${CORES}; full: 1 to ${CORES})`),
  workloads: text("", "echo suite, custom matrix: steady, churn, open (comma-separated)"),
  sizes: text("", "echo suite, custom matrix: payload bytes, comma-separated"),
  connections: text("", "echo suite, custom matrix: connection counts, comma-separated"),
  rounds: number(1, 100, 3, "repetitions of every run"),
  slo: text(CAPACITY_SLO, "capacity suite: the SLO each mode's capacity is found at"),
  "capacity-rounds": number(
    1,
    100,
    2,
    "capacity suite: searches per mode and scenario (each is 6 to 12 runs)",
  ),
  seconds: number(0.1, 600, 1, "seconds measured per run", false),
  warmup: number(0, 60, 0.25, "seconds of load before each measurement", false),
  threads: number(1, 64, Math.max(1, Math.floor(CORES / 2)), "load client threads"),
  out: text("", "output folder (default: bench/results/<timestamp>)"),
  "client-command": text("", "an external load client instead of ours (bench/load/external.ts)"),
  "http-client-command": text(
    "",
    "an external HTTP load client instead of autocannon, e.g. wrk with bench/load/wrk-echo.lua (see docs/BENCHMARKS.md)",
  ),
};

function list(flag: string, raw: string, allowed?: readonly string[]): string[] {
  const items = raw.split(",").map((s) => s.trim());
  for (const item of items)
    if (item === "" || (allowed && !allowed.includes(item)))
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `--${flag}: '${raw}' is not allowed; expected a comma-separated list${allowed ? ` of ${allowed.join(", ")}` : ""}`,
      );
  return items;
}

function integers(flag: string, raw: string, min: number, max: number): number[] {
  return list(flag, raw).map((item) => {
    const n = Number(item);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `--${flag}: '${item}' is not allowed; expected integers from ${min} to ${max}`,
      );
    return n;
  });
}

function planFrom(f: ReturnType<typeof parseFlags<typeof FLAGS>>): Plan {
  const modes = list("modes", f.modes);
  for (const m of modes)
    if (!BENCH_MODES.includes(m.split(":")[0] ?? ""))
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `--modes: '${m}' is not allowed; expected modes among ${BENCH_MODES.join(", ")}, each optionally followed by :--flag=value`,
      );
  const workers =
    f.workers !== ""
      ? integers("workers", f.workers, 1, 64)
      : f.full
        ? Array.from({ length: CORES }, (_, i) => i + 1)
        : [CORES];
  let scenarios: Scenario[];
  if (f.workloads || f.sizes || f.connections) {
    const workloads = list("workloads", f.workloads || "steady,churn,open", [
      "steady",
      "churn",
      "open",
    ]);
    const sizes = integers("sizes", f.sizes || "64", 1, 64 * 1024 * 1024);
    const conns = integers("connections", f.connections || "50", 1, 100_000);
    scenarios = workloads.flatMap((w) =>
      sizes.flatMap((s) => conns.map((c) => scenario(w as Workload, s, c))),
    );
  } else scenarios = f.full ? fullScenarios() : quickScenarios();
  const suites = list("suites", f.suites, SUITES);
  const sections: Section[] = [];
  if (suites.includes("echo")) sections.push(echoSection(scenarios, variants(modes, workers)));
  if (suites.includes("http")) sections.push(httpSection());
  if (suites.includes("websocket")) sections.push(websocketSection());
  if (suites.includes("work")) sections.push(workSection(CORES));
  if (suites.includes("churn-work")) sections.push(churnWorkSection(CORES));
  const slo = parseSlo(f.slo);
  if (typeof slo === "string") throw new EchoplexError("ECHOPLEX_BAD_FLAG", `--slo: ${slo}`);
  const capacity: CapacityPlan = {
    slo: f.slo,
    baseline: BASELINE,
    variants: variants(modes, [Math.max(...workers)]),
    scenarios: CAPACITY_SCENARIOS,
    rounds: f["capacity-rounds"],
    seconds: f.seconds,
    warmupSeconds: f.warmup,
    threads: f.threads,
  };
  return {
    sections,
    ...(suites.includes("capacity") ? { capacity } : {}),
    rounds: f.rounds,
    seconds: f.seconds,
    warmupSeconds: f.warmup,
    threads: f.threads,
    ...(f["client-command"] ? { clientCommand: f["client-command"] } : {}),
    ...(f["http-client-command"] ? { httpClientCommand: f["http-client-command"] } : {}),
  };
}

/**
 * Build the server as production runs it (dist/, no type stripping: every process holds ~35 MB
 * less) into a directory of this run's own, in the repository so that it finds node_modules;
 * removed when the run ends.
 */
function buildServer(): { cli: string; remove: () => void } {
  const root = fileURLToPath(new URL("..", import.meta.url));
  // Beside dist/ (the build reaches ../package.json, as dist/main/cli.js does).
  const dir = join(root, `.bench-dist-${process.pid}-${Date.now()}`);
  execFileSync(join(root, "node_modules", ".bin", "tsc"), [
    ...["-p", join(root, "tsconfig.build.json"), "--outDir", dir],
  ]);
  return {
    cli: join(dir, "main", "cli.js"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const f = parseFlags(COMMAND, FLAGS, argv);
  const plan = planFrom(f); // bad flags fail here, before anything is built or run
  const build = buildServer();
  // Stopped (Ctrl-C, a timeout's SIGTERM): its servers and its build go with it, not orphaned.
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      killServers();
      build.remove();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  try {
    await runBench(f, argv, { ...plan, cli: build.cli });
  } finally {
    build.remove();
  }
}

async function runBench(
  f: ReturnType<typeof parseFlags<typeof FLAGS>>,
  argv: readonly string[],
  plan: Plan,
): Promise<void> {
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out =
    f.out || join(fileURLToPath(new URL("./results", import.meta.url)), stamp.slice(0, 19));
  const m = machine();
  const runs = schedule(plan);
  const capacity = plan.capacity ? { ...plan.capacity, cli: plan.cli } : undefined;
  const searches = capacity ? capacitySchedule(capacity) : [];
  const started = new Date().toISOString();
  const bar = new SingleBar({
    stream: process.stderr,
    format: "{bar} {value}/{total} runs | eta {eta_formatted} | {run}",
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    hideCursor: true,
  });
  bar.start(runs.length + searches.length, 0, { run: "" });
  const records: RunRecord[] = [];
  for (const run of runs) {
    bar.update({ run: `${run.scenario.id} · ${run.variant.id} · round ${run.round + 1}` });
    records.push(await measure(run, plan, m.cores));
    bar.increment();
  }
  const found: CapacityRecord[] = [];
  for (const search of searches) {
    bar.update({ run: `${search.scenario.id} · ${search.variant.id} · round ${search.round + 1}` });
    found.push(await searchOn(capacity as CapacityPlan, search));
    bar.increment();
  }
  bar.stop();
  const rows = summarize(records);
  const capacityTable = capacityRows(found);
  mkdirSync(out, { recursive: true });
  const json = {
    command,
    machine: m,
    plan,
    started,
    finished: new Date().toISOString(),
    rows,
    runs: records,
    ...(capacity ? { capacity: { rows: capacityTable, searches: found } } : {}),
  };
  writeFileSync(join(out, "results.json"), `${JSON.stringify(json, null, 2)}\n`);
  const md = markdown(
    rows,
    plan,
    m,
    command,
    capacity && capacityMarkdown(capacityTable, capacity),
  );
  writeFileSync(join(out, "summary.md"), md);
  for (const [name, svg] of await charts(rows, m.cores)) writeFileSync(join(out, name), svg);
  const knee = capacity && kneeSpec(found, capacity.slo);
  if (knee) writeFileSync(join(out, "knee.svg"), await toSvg(knee));
  process.stdout.write(`${md}\nresults: ${out}\n`);
  const failed = [...records, ...found].filter((r) => r.error !== undefined);
  if (failed.length > 0)
    process.stderr.write(
      `${COMMAND}: ${failed.length} runs failed; first: ${failed[0]?.variant} ${failed[0]?.scenario}: ${failed[0]?.error}\n`,
    );
}

runMain(COMMAND, main);
