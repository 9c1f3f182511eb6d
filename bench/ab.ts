/**
 * `npm run bench:ab -- --a DIR [--b DIR]`: has a change made the server slower? Runs the echoplex
 * of two checkouts (B defaults to this one) under the same load, interleaved A B B A ..., and
 * prints the medians of the rate and of the server's CPU per connection (or per message).
 * Make the other checkout with `git worktree add /tmp/a <commit>` and link its node_modules.
 *
 *   npm run bench:ab -- --a /tmp/a [--mode handoff] [--workers 2] [--churn | --http] [--rounds 10]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { number, parseFlags, runMain, text, toggle } from "../src/args.ts";
import { EchoplexError } from "../src/errors.ts";
import { treeCpuSeconds } from "./lib/proc.ts";
import { startServer } from "./lib/server.ts";
import { median } from "./lib/stats.ts";
import { describeMachine, machine } from "./runner/machine.ts";

const COMMAND = "echoplex-ab";
const HERE = fileURLToPath(new URL("..", import.meta.url));
const LOAD = join(HERE, "src/load/cli.ts");
const FLAGS = {
  a: text("", "the checkout to compare against (a directory with src/main/cli.ts)"),
  b: text(HERE, "the other checkout"),
  mode: text("handoff", "the mode both run"),
  workers: number(1, 64, 2, "workers"),
  churn: toggle("connection churn (connections per second) instead of steady 64 B echo"),
  http: toggle("HTTP echo: 64 B POSTs on 50 keep-alive connections (autocannon) instead"),
  duration: number(1, 600, 4, "seconds measured per run, after 1 s of warm-up"),
  rounds: number(1, 100, 10, "runs of each, interleaved"),
};

async function main(): Promise<void> {
  const f = parseFlags(COMMAND, FLAGS, process.argv.slice(2));
  for (const dir of [f.a, f.b]) {
    if (dir === "" || !existsSync(join(dir, "src/main/cli.ts")))
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `--a/--b ${dir || "(none)"}: no src/main/cli.ts there`,
      );
  }
  const m = machine();
  const sides = { A: join(f.a, "src/main/cli.ts"), B: join(f.b, "src/main/cli.ts") };
  const rates: Record<"A" | "B", number[]> = { A: [], B: [] };
  const cpu: Record<"A" | "B", number[]> = { A: [], B: [] };
  let saturated = 0;
  for (let round = 0; round < f.rounds; round++) {
    const order: ("A" | "B")[] = round % 2 === 0 ? ["A", "B"] : ["B", "A"];
    for (const side of order) {
      const server = await startServer(
        [
          ...["--port", "0", "--mode", f.mode, "--workers", String(f.workers), "--admin", "off"],
          ...(f.http ? ["--http", "0"] : []),
        ],
        { cli: sides[side] },
      );
      const workload = f.churn
        ? ["--churn", "--connections", "32"]
        : ["--connections", "50", ...(f.http ? ["--http"] : [])];
      const port = f.http ? (server.listening.http as number) : server.port;
      const load = [LOAD, "--port", String(port), ...workload, "--json"];
      // Warm up, then measure with the server's CPU read around the measured run alone.
      spawnSync(process.execPath, [...load, "--duration", "1", "--warmup", "0"]);
      const cpu0 = treeCpuSeconds(server.pid);
      const measured = spawnSync(
        process.execPath,
        [...load, "--duration", String(f.duration), "--warmup", "0"],
        { encoding: "utf8" },
      );
      const cpu1 = treeCpuSeconds(server.pid);
      await server.stop();
      const report = JSON.parse(measured.stdout.trim().split("\n").at(-1) ?? "{}");
      if (measured.status !== 0 || typeof report.msgs_per_s !== "number") {
        // The load client said why, in its one line.
        process.stderr.write(measured.stderr);
        process.exit(measured.status ?? 1);
      }
      rates[side].push(report.msgs_per_s);
      cpu[side].push(((cpu1 - cpu0) / report.messages) * 1e6);
      if (report.client_saturated) saturated++;
      process.stderr.write(
        `round ${round + 1} ${side}: ${Math.round(report.msgs_per_s)}/s, ${(((cpu1 - cpu0) / report.messages) * 1e6).toFixed(1)} µs server CPU each\n`,
      );
    }
  }
  const unit = f.churn ? "conn/s" : f.http ? "req/s" : "msg/s";
  const workload = f.churn
    ? "churn, 32 connect loops"
    : f.http
      ? "HTTP 64 B POSTs, 50 keep-alive connections"
      : "steady 64 B, 50 connections";
  process.stdout.write(
    `${[
      `${describeMachine(m)}; ${f.mode}, ${f.workers} workers, ${workload}; ${f.rounds} rounds of ${f.duration} s, interleaved`,
      `A ${f.a}: median ${Math.round(median(rates.A))} ${unit}, ${median(cpu.A).toFixed(1)} µs server CPU each`,
      `B ${f.b}: median ${Math.round(median(rates.B))} ${unit}, ${median(cpu.B).toFixed(1)} µs server CPU each`,
      `B/A: rate ${(median(rates.B) / median(rates.A)).toFixed(2)}x, CPU each ${(median(cpu.B) / median(cpu.A)).toFixed(2)}x` +
        (saturated > 0
          ? `; the client was saturated in ${saturated} of ${2 * f.rounds} runs (rates there measure the client: compare CPU each)`
          : ""),
    ].join("\n")}\n`,
  );
}

runMain(COMMAND, main);
