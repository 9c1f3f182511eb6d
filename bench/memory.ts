/**
 * `npm run bench:memory`: the resident memory of each server process, idle, after connection
 * churn and after steady echo, as production runs it (dist/: `npm run build` first), against a
 * forked Node child that loads nothing, measured in the same run. Variants add Node flags to the
 * server (after the workers' own, so they win), interleaved round by round, with the churn and
 * steady rates beside, so a flag that saves memory at the cost of throughput shows it.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { number, parseFlags, runMain, text } from "../src/args.ts";
import { EchoplexError } from "../src/errors.ts";
import { type LoadOptions, runLoad } from "../src/load/run.ts";
import { childPids, statusField } from "./lib/proc.ts";
import { startServer } from "./lib/server.ts";
import { median } from "./lib/stats.ts";
import { describeMachine, machine } from "./runner/machine.ts";

const COMMAND = "echoplex-bench-memory";
const DIST_CLI = fileURLToPath(new URL("../dist/main/cli.js", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number) => Number.parseInt(statusField(pid, "VmRSS") ?? "0", 10) / 1024;

/** RSS of a forked child that loads nothing and waits, as a worker process waits. */
async function bareChild(): Promise<number> {
  const child = fork("-e", ["setInterval(() => {}, 1000); process.on('message', () => {})"], {
    execPath: process.execPath,
    execArgv: [],
  });
  await sleep(1_500);
  const rss = rssMiB(child.pid as number);
  child.kill();
  return rss;
}

interface Row {
  variant: string;
  phase: string;
  primary: number;
  workers: number[];
  rate: number;
}

async function oneRound(
  variant: string,
  f: { mode: string; workers: number; churn: number; steady: number },
) {
  const flags = variant === "default" ? [] : variant.split(" ");
  const server = await startServer(
    ["--mode", f.mode, "--workers", String(f.workers), "--port", "0", "--admin", "off"],
    { cli: DIST_CLI, nodeFlags: flags },
  );
  const rows: Row[] = [];
  const snap = (phase: string, rate: number) =>
    rows.push({
      variant,
      phase,
      primary: rssMiB(server.pid),
      workers: childPids(server.pid).map(rssMiB),
      rate,
    });
  const load = (o: Partial<LoadOptions>) =>
    runLoad({
      ...{ host: "127.0.0.1", port: server.port, connections: 50, size: 64, seconds: 5 },
      ...{ pipeline: 1, rate: 0, churn: false, threads: 1, timeoutMs: 2_000, warmupSeconds: 0 },
      ...o,
    });
  try {
    await sleep(1_000);
    snap("idle", 0);
    snap("churn", (await load({ churn: true, connections: 4, seconds: f.churn })).msgs_per_s);
    snap("steady", (await load({ seconds: f.steady })).msgs_per_s);
  } finally {
    await server.stop("SIGTERM");
  }
  return rows;
}

async function main(): Promise<void> {
  const f = parseFlags(
    COMMAND,
    {
      variants: text("default", "comma-separated server Node flags to compare ('default': none)"),
      mode: text("handoff", "the mode"),
      workers: number(1, 256, 2, "workers"),
      rounds: number(1, 100, 3, "rounds, the variants interleaved in each"),
      churn: number(1, 600, 10, "seconds of churn (4 connect loops)", false),
      steady: number(1, 600, 5, "seconds of steady echo (50 connections)", false),
    },
    process.argv.slice(2),
  );
  if (!existsSync(DIST_CLI)) {
    throw new EchoplexError("ECHOPLEX_BAD_FLAG", `${DIST_CLI} is missing: run npm run build first`);
  }
  const variants = f.variants.split(",").map((v) => v.trim());
  const rows: Row[] = [];
  const bare: number[] = [];
  for (let round = 0; round < f.rounds; round++) {
    bare.push(await bareChild());
    for (const variant of variants) {
      rows.push(...(await oneRound(variant, f)));
      process.stderr.write(`round ${round + 1}: ${variant} done\n`);
    }
  }
  const base = median(bare);
  const out = [
    `${f.mode} x${f.workers} from dist/; ${f.rounds} rounds, variants interleaved; churn ${f.churn} s ` +
      `(4 loops), steady ${f.steady} s (50 x 64 B); machine: ${describeMachine(machine())}`,
    `a forked Node child that loads nothing: ${base.toFixed(1)} MiB (median)`,
    "",
    "| variant | phase | primary MiB | worker MiB (median, max) | worker / bare child | rate (median) |",
    "|---|---|---|---|---|---|",
  ];
  for (const variant of variants) {
    for (const phase of ["idle", "churn", "steady"]) {
      const mine = rows.filter((r) => r.variant === variant && r.phase === phase);
      const workers = mine.flatMap((r) => r.workers);
      const w = median(workers);
      const rate = phase === "idle" ? "" : `${Math.round(median(mine.map((r) => r.rate)))} /s`;
      out.push(
        `| ${variant} | ${phase} | ${median(mine.map((r) => r.primary)).toFixed(1)} | ` +
          `${w.toFixed(1)}, ${Math.max(...workers).toFixed(1)} | ${(w / base).toFixed(2)}x | ${rate} |`,
      );
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

runMain(COMMAND, main);
