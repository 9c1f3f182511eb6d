/** `npm run bench`, tiny: it starts servers itself and writes valid JSON, markdown and SVG. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { childPids } from "../../bench/lib/proc.ts";
import { runScript } from "../helpers/load.ts";

const CORES = availableParallelism();
const BENCH = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("bench runner", () => {
  it("a tiny run produces results.json, summary.md with the projection, and the four charts", async (t) => {
    const out = mkdtempSync(join(tmpdir(), "echoplex-bench-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const r = await runScript(BENCH, [
      ...["--suites", "echo", "--modes", "handoff", "--workers", "2"],
      ...["--workloads", "steady,churn,open"],
      ...["--sizes", "64", "--connections", "4", "--rounds", "1", "--seconds", "0.3"],
      ...["--warmup", "0.1", "--out", out],
    ]);
    assert.equal(r.status, 0, r.stderr);

    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    assert.equal(json.machine.node, process.version);
    assert.equal(json.runs.length, 6, "3 scenarios x (single + handoff)");
    for (const run of json.runs) {
      assert.equal(run.error, undefined, run.error);
      assert.ok(run.load.messages > 0, `${run.variant} ${run.scenario} did work`);
      assert.equal(run.load.mismatches, 0);
      assert.ok(run.server_cpu_s > 0 && run.client_cores > 0, "both sides did work");
      assert.equal(run.served.length, run.workers, "a count per worker");
      // CPU split by process, and memory per process.
      const split = run.server_split_us;
      // /proc counts CPU in 10 ms ticks, each thread's rounded on its own (a dozen threads a
      // process), and the process totals include threads that ended: close, not equal.
      const tick = 1e4 / run.load.messages;
      const whole = split.primary + split.workers;
      const total = run.server_us_per_unit;
      assert.ok(Math.abs(whole - total) <= Math.max(0.25 * total, 40 * tick), "the split adds up");
      if (run.mode === "handoff") assert.ok(split.workers > 0, "the workers' CPU per unit");
      else assert.equal(split.workers, 0, "the single loop is all primary");
      assert.ok(run.rss_mib.primary > 20, "the primary's RSS");
      assert.equal(run.rss_mib.workers.length, run.mode === "handoff" ? 2 : 0);
    }
    const handoffSteady = json.rows.find(
      (row: { variant: string; scenario: string }) =>
        row.variant === "handoff x2" && row.scenario.startsWith("steady"),
    );
    assert.equal(
      handoffSteady.served.reduce((a: number, b: number) => a + b, 0),
      4,
      "4 connections served",
    );

    const md = readFileSync(join(out, "summary.md"), "utf8");
    assert.equal(md.match(/^## /gm)?.length, 2, "one section, and the projection");
    assert.equal(md.match(/^### /gm)?.length, 6, "a table per scenario, in both");
    assert.match(md, /^## Projection past this machine's cores \(a model, not a measurement\)$/m);
    assert.match(md, /^\| handoff x2 \| [\d.]+ \| [\d.]+ \| [\d.]+k \| [\d.]+k \|/m);
    assert.match(md, /^\| single \|/m);
    assert.match(md, /^\| handoff x2 \|/m);
    assert.match(md, /machine: .*Node v24/);
    assert.equal(r.stdout.includes(md), true, "summary.md is printed too");

    for (const chart of ["throughput.svg", "latency.svg", "churn.svg", "projection.svg"]) {
      const svg = readFileSync(join(out, chart), "utf8");
      assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg.trimEnd(), /<\/svg>$/);
      assert.ok(svg.includes("handoff"), `${chart} names the mode`);
    }
  });

  it("the http and work suites: their peers, their flags, a verdict each, a chart each", async (t) => {
    const out = mkdtempSync(join(tmpdir(), "echoplex-bench-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const r = await runScript(BENCH, [
      ...["--suites", "http,work", "--rounds", "1", "--seconds", "0.3", "--warmup", "0.1"],
      ...["--out", out],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const variants = json.runs.map((run: { variant: string }) => run.variant);
    const http = [
      "node:http minimal (collect)",
      "echoplex single",
      "echoplex single, fast path off",
      "echoplex single, HTTP/2 (h2c)",
      "node:http minimal (pipe)",
      "node:http2 minimal (h2c)",
    ];
    assert.deepEqual(variants, [
      ...http, // 64 B
      ...http, // 16 KiB
      ...http, // 64 B pipelined 16 deep
      "single",
      `single + offload ${CORES}`,
      `handoff x${CORES}`,
      `handoff x${CORES} + offload 1`,
    ]);
    const scenarios = json.runs.map((run: { scenario: string }) => run.scenario);
    assert.deepEqual([...new Set(scenarios)].slice(0, 3), [
      "http steady 64 B x50",
      "http steady 16 KiB x50",
      "http pipelined x16 steady 64 B x50",
    ]);
    for (const run of json.runs) {
      assert.equal(run.error, undefined, `${run.variant}: ${run.error}`);
      assert.ok(run.load.messages > 0, `${run.variant} ${run.scenario} did work`);
      assert.equal(run.load.mismatches, 0);
    }
    for (const run of json.runs.filter((r: { suite: string }) => r.suite === "work")) {
      assert.ok(run.server_threads.busiestLoop > 0, `${run.variant}: its event loop was busy`);
      if (run.variant.includes("offload")) {
        assert.ok(run.server_threads.workerThreads > 0, `${run.variant}: its pool worked`);
      }
    }
    const work = json.plan.sections.find((s: { suite: string }) => s.suite === "work");
    assert.ok(work.note.rounds >= 1 && work.note.us_per_message > 0, "calibrated");
    assert.deepEqual(work.serverFlags, ["--work", `sha256:${work.note.rounds}`]);
    const md = readFileSync(join(out, "summary.md"), "utf8");
    assert.equal(md.match(/\*\*Verdict:\*\*/g)?.length, 2);
    assert.match(md, /vs node:http minimal \(collect\)/);
    assert.match(md, /busiest loop \d\.\d\d, pool \d\.\d\d\)/, "the work table splits the cores");
    for (const chart of ["http.svg", "work.svg"]) {
      assert.match(readFileSync(join(out, chart), "utf8"), /^<svg/);
    }
  });

  it("the websocket suite: WebSocket against TCP echo by our own client, a verdict per size", async (t) => {
    const out = mkdtempSync(join(tmpdir(), "echoplex-bench-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const r = await runScript(BENCH, [
      ...["--suites", "websocket", "--rounds", "1", "--seconds", "0.3", "--warmup", "0.1"],
      // An external client that always fails: the suite must not use it for either protocol.
      ...["--client-command", "false", "--out", out],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const runs = json.runs.map((run: { variant: string; load: { protocol: string } }) => [
      run.variant,
      run.load?.protocol,
    ]);
    const one = [
      ["TCP echo", "tcp"],
      ["WebSocket", "ws"],
      ["WebSocket, fast path off", "ws"],
    ];
    assert.deepEqual(runs, [...one, ...one]);
    for (const run of json.runs) {
      assert.equal(run.error, undefined, `${run.variant}: ${run.error}`);
      assert.ok(run.load.messages > 0, `${run.variant} ${run.scenario} did work`);
      assert.equal(run.load.mismatches + run.load.errors, 0);
    }
    const md = readFileSync(join(out, "summary.md"), "utf8");
    assert.match(md, /### ws vs tcp steady 64 B x50/);
    assert.match(md, /### ws vs tcp steady 16 KiB x50/);
    assert.match(
      md,
      /\*\*Verdict, 64 B:\*\* .*Bar \(≥ 0\.9× TCP echo's msg\/s\): (met|not met|unclear)/,
    );
    assert.match(md, /\*\*Verdict, 16 KiB:\*\*/);
    assert.match(readFileSync(join(out, "websocket.svg"), "utf8"), /^<svg/);
  });

  it("the capacity suite: a search per mode and workload, the table at capacity, the knee chart", async (t) => {
    const out = mkdtempSync(join(tmpdir(), "echoplex-bench-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const r = await runScript(BENCH, [
      ...["--suites", "capacity", "--modes", "handoff", "--workers", "2"],
      ...["--capacity-rounds", "1", "--seconds", "0.2", "--warmup", "0"],
      // Loose enough that every step on a busy machine meets it: the search goes up to the
      // client's limit (or its step limit), so both variants reach a confirmed capacity.
      ...["--slo", "p99=1s", "--out", out],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const searches = json.capacity.searches;
    assert.deepEqual(
      searches.map((s: { scenario: string; variant: string }) => `${s.scenario} · ${s.variant}`),
      [
        "capacity: echo 64 B x50 · single",
        "capacity: echo 64 B x50 · handoff x2",
        "capacity: churn 64 B · single",
        "capacity: churn 64 B · handoff x2",
      ],
    );
    for (const s of searches) {
      assert.equal(s.error, undefined, s.error);
      assert.ok(s.steps.length >= 2 && s.steps[0].phase === "ramp", `${s.variant} ${s.scenario}`);
      for (const step of s.steps) assert.ok(step.server_cores > 0 && step.client_cores > 0);
      if (s.capacity === 0) continue; // a noisy machine can miss both confirmations
      const at = s.steps.findLast(
        (x: { met: boolean; rate: number }) => x.met && x.rate === s.capacity,
      );
      assert.ok(at.server_us > 0 && at.client_us > 0, "CPU per unit on both sides at capacity");
    }
    assert.ok(
      searches.some((s: { capacity: number }) => s.capacity > 0),
      "some capacity found (the first step, 8,000 msg/s, is far within p99=1s)",
    );
    const md = readFileSync(join(out, "summary.md"), "utf8");
    assert.match(md, /^## Capacity: the highest open-loop rate within p99=1s$/m);
    assert.match(
      md,
      /^\| single \| [\d,]+ \([\d,]+–[\d,]+\) \| 1 \| [\d,–]+ \| [\d.–]+ \/ [\d.–]+ \|/m,
    );
    assert.match(md, /^\| handoff x2 \| [\d,]+ .*\| [\d.–]+× .* vs single \|/m);
    assert.match(md, /capacity conn\/s/, "churn counts connections");
    const knee = readFileSync(join(out, "knee.svg"), "utf8");
    assert.match(knee, /^<svg/);
    assert.ok(knee.includes("handoff x2") && knee.includes("The knee"));
  });

  it("stopped mid-run (SIGTERM), it stops the servers it started and removes its build (regression: a timed-out run left its server running)", async () => {
    const bench = spawn(process.execPath, [
      BENCH,
      ...["--suites", "echo", "--modes", "handoff", "--workers", "2", "--workloads", "steady"],
      ...["--sizes", "64", "--connections", "4", "--rounds", "1", "--seconds", "30"],
    ]);
    bench.stdout.resume();
    bench.stderr.resume();
    const exited = new Promise<number | null>((resolve) => bench.once("exit", (c) => resolve(c)));
    const pid = bench.pid as number;
    let server: number | undefined;
    for (let i = 0; i < 300 && server === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      server = childPids(pid).find((c) => {
        try {
          return readFileSync(`/proc/${c}/cmdline`, "utf8").includes("cli.js");
        } catch {
          return false;
        }
      });
    }
    assert.ok(server !== undefined, "the bench started a server");
    const builds = () => readdirSync(ROOT).filter((n) => n.startsWith(`.bench-dist-${pid}-`));
    assert.equal(builds().length, 1, "its build, beside dist/");
    bench.kill("SIGTERM");
    assert.equal(await exited, 143);
    const alive = () => {
      try {
        return !readFileSync(`/proc/${server}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(), false, `server ${server} stopped`);
    assert.deepEqual(builds(), [], "build removed");
  });

  it("bench:pool compares echoplex's pool settings with piscina's defaults", async () => {
    const POOL = fileURLToPath(new URL("../../bench/pool.ts", import.meta.url));
    const r = await runScript(POOL, ["--tasks", "200", "--rounds", "1", "--callers", "4"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\| piscina defaults .*\| \d+\.\d \(/m);
    assert.match(r.stdout, /^\| echoplex .*\| \d+\.\d \(/m);
  });

  it("a bad flag: one line, exit 2, nothing run", async () => {
    const r = await runScript(BENCH, ["--modes", "handoff,nope"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^echoplex-bench: --modes: .*\[ECHOPLEX_BAD_FLAG\]$/);
    const slo = await runScript(BENCH, ["--slo", "p99=fast"]);
    assert.equal(slo.status, 2);
    assert.match(slo.stderr.trim(), /^echoplex-bench: --slo: p99: 'fast' .*\[ECHOPLEX_BAD_FLAG\]$/);
  });
});
