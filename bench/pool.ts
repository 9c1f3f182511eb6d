/**
 * `npm run bench:pool`: what one offloaded task costs in CPU, with echoplex's pool settings
 * (src/worker/work/work.ts) against piscina's defaults: many callers (as many connections) each with
 * one trivial task in flight, like the offloaded echo. Interleaved A B A B, medians.
 *
 *   npm run bench:pool [-- --callers 50] [--tasks 20000] [--threads 2] [--rounds 5]
 */
import { Piscina } from "piscina";
import { number, parseFlags, runMain } from "../src/args.ts";
import { poolOptions } from "../src/worker/work/work.ts";
import type { WorkTask } from "../src/worker/work/work-task.ts";
import { median } from "./lib/stats.ts";
import { describeMachine, machine } from "./runner/machine.ts";

const COMMAND = "echoplex-pool";
const FLAGS = {
  callers: number(1, 10_000, 50, "concurrent callers, each with one task in flight"),
  tasks: number(100, 10_000_000, 20_000, "tasks per measurement"),
  threads: number(1, 64, 2, "pool threads"),
  rounds: number(1, 100, 5, "measurements per setting, interleaved"),
};

/** CPU µs of this process per task, and wall µs per task. */
async function measure(pool: Piscina<WorkTask, string>, callers: number, tasks: number) {
  const data = new Uint8Array(64);
  let left = tasks;
  const caller = async (): Promise<void> => {
    while (left-- > 0) await pool.run({ data, rounds: 1 });
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / tasks, wall: ((performance.now() - t0) * 1000) / tasks };
}

async function main(): Promise<void> {
  const f = parseFlags(COMMAND, FLAGS, process.argv.slice(2));
  const ours = poolOptions(f.threads);
  const settings = {
    "piscina defaults (1 task per thread at a time)": {
      filename: ours.filename,
      minThreads: f.threads,
      maxThreads: f.threads,
    },
    "echoplex (batches of up to 16, no task timing)": ours,
  };
  const pools = Object.entries(settings).map(([name, o]) => ({
    name,
    pool: new Piscina<WorkTask, string>(o),
    cpu: [] as number[],
    wall: [] as number[],
  }));
  for (const p of pools) await measure(p.pool, f.callers, f.tasks / 10); // warm up
  for (let r = 0; r < f.rounds; r++) {
    for (const p of pools) {
      const m = await measure(p.pool, f.callers, f.tasks);
      p.cpu.push(m.cpu);
      p.wall.push(m.wall);
    }
  }
  const lines = [
    `machine: ${describeMachine(machine())}; ${f.callers} callers, ${f.threads} threads, ${f.tasks} one-round 64-byte tasks per measurement, ${f.rounds} interleaved rounds`,
    "",
    "| pool settings | CPU µs per task (median, min–max) | wall µs per task |",
    "|---|---|---|",
  ];
  for (const p of pools) {
    const spread = (xs: number[]) =>
      `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
    lines.push(`| ${p.name} | ${spread(p.cpu)} | ${median(p.wall).toFixed(1)} |`);
    await p.pool.destroy();
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

runMain(COMMAND, main);
