/**
 * Load over time (issue 26, part 2): --interval rows as each interval ends, --rate A..B ramps
 * (linear and stepped) over the measured window, the rows adding up to the report exactly,
 * saved and merged across clients, and the flags' usage errors. Against a plain in-process echo
 * server (startFaultyEcho "none"), so the client is what is measured.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { IntervalRow } from "../src/load/report/intervals.ts";
import { runLoad } from "../src/load/run.ts";
import { startFaultyEcho } from "./fixtures/faulty-echo.ts";
import { BASE_LOAD as base, LOAD_CLI, runLoadCli } from "./helpers/load.ts";

/** The average rate a ramp from `a` to `b` over `n` intervals offers in interval `k`. */
function expected(a: number, b: number, n: number, k: number, steps = 0): number {
  if (steps === 0) return a + ((b - a) * (k + 0.5)) / n;
  // A stepped ramp: level floor(f * steps) of steps, over the interval's share of the window.
  let sum = 0;
  const parts = 100;
  for (let i = 0; i < parts; i++) {
    const f = (k + (i + 0.5) / parts) / n;
    sum += a + ((b - a) * Math.min(Math.floor(f * steps), steps - 1)) / (steps - 1);
  }
  return sum / parts;
}

/**
 * Near what was offered: the client keeps its own schedule at these rates (measured within 3%;
 * the bound is loose so that a starved machine does not fail it, and the rows must rise too).
 */
function near(rows: readonly IntervalRow[], want: (k: number) => number): void {
  rows.forEach((r, k) => {
    const w = want(k);
    assert.ok(
      Math.abs(r.msgs_per_s - w) <= 0.3 * w,
      `interval ${k}: ${r.msgs_per_s} msg/s, ${w} offered`,
    );
  });
}

describe("load over time", () => {
  let port = 0;
  let close: () => void = () => {};
  before(async () => {
    const s = await startFaultyEcho("none");
    port = s.port;
    close = () => s.server.close();
  });
  after(() => close());

  it("--rate A..B --interval: a row per interval as it ends, rising with the ramp, adding up to the report", async () => {
    const shown: IntervalRow[] = [];
    const r = await runLoad(
      { ...base, port, connections: 8, rate: 400, rateEnd: 2000, intervalSeconds: 0.5, seconds: 2 },
      { interval: (row) => shown.push(row) },
    );
    const rows = r.intervals ?? [];
    assert.equal(rows.length, 4);
    assert.deepEqual(
      shown.map((x) => x.t_s),
      [0.5, 1, 1.5, 2],
      "shown in order, each once",
    );
    near(rows, (k) => expected(400, 2000, 4, k));
    assert.ok(
      rows.every((x, k) => k === 0 || x.msgs_per_s > (rows[k - 1] as IntervalRow).msgs_per_s),
    );
    // Every message of the window is in exactly one interval.
    assert.equal(
      rows.reduce((n, x) => n + x.messages, 0),
      r.messages,
    );
    assert.equal(r.rate_end, 2000);
  });

  it("--rate A..B:STEPS holds each level for its share of the window", async () => {
    const r = await runLoad({
      ...base,
      port,
      connections: 8,
      rate: 400,
      rateEnd: 1600,
      rateSteps: 4,
      intervalSeconds: 0.5,
      seconds: 2,
    });
    near(r.intervals ?? [], (k) => expected(400, 1600, 4, k, 4));
  });

  it("the command: JSON rows, then the report; saved rows merge across clients exactly", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "echoplex-intervals-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = [join(dir, "a.json"), join(dir, "b.json")];
    const runs = await Promise.all(
      files.map((file) =>
        runLoadCli([
          ...[
            "--port",
            String(port),
            "--rate",
            "300..900",
            "--duration",
            "1.5",
            "--interval",
            "0.5",
          ],
          ...["--connections", "4", "--threads", "1", "--warmup", "0.2", "--json", "--save", file],
        ]),
      ),
    );
    for (const run of runs) {
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 4, "three rows, then the report");
      assert.deepEqual(
        lines.slice(0, 3).map((l) => l.t_s),
        [0.5, 1, 1.5],
      );
      assert.equal("histogram" in (lines[0] as object), false);
      assert.equal((lines[3] as { intervals: unknown[] }).intervals.length, 3);
    }
    const merged = await runLoadCli(["merge", ...files, "--json"]);
    assert.equal(merged.status, 0, merged.stderr);
    const m = merged.json as { intervals: IntervalRow[]; messages: number };
    assert.equal(m.intervals.length, 3);
    const each = runs.map((run) => (run.json as unknown as { intervals: IntervalRow[] }).intervals);
    for (const [k, row] of m.intervals.entries())
      assert.equal(row.messages, (each[0]?.[k]?.messages ?? 0) + (each[1]?.[k]?.messages ?? 0));
    assert.equal(
      m.intervals.reduce((n, x) => n + x.messages, 0),
      m.messages,
    );
  });

  it("on a terminal: a live line a second on stderr, replaced by the report; none in a pipe", async (t) => {
    if (spawnSync("script", ["--version"]).status !== 0) {
      t.skip("needs script(1) for a pseudo-terminal");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "echoplex-live-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "r.json");
    const args = ["--port", String(port), "--duration", "2.5", "--warmup", "0", "--save", file];
    const command = [process.execPath, LOAD_CLI, ...args].join(" ");
    const tty = spawnSync("script", ["-qfec", command, "/dev/null"], { encoding: "utf8" });
    assert.equal(tty.status, 0, tty.stderr);
    const CLEAR = "\r\u001b[K"; // back to the line's start, and erase it
    assert.match(tty.stdout.split(CLEAR)[1] ?? "", /^t=1s {2}[\d,]+ msg\/s/, "the live line");
    assert.ok(tty.stdout.includes(`${CLEAR}steady: `), "the line cleared, then the report");
    assert.equal(
      "intervals" in (JSON.parse(readFileSync(file, "utf8")) as object),
      false,
      "rows not asked for are not kept",
    );
    const piped = await runLoadCli(args);
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal((piped.stdout + piped.stderr).includes("\u001b[K"), false);
  });

  it("bad ramps and intervals: one line, exit 2", async () => {
    for (const [args, why] of [
      [["--rate", "100..x"], /--rate: '100..x' is not allowed; expected messages per second/],
      [["--rate", "0..100"], /--rate: '0..100' is not allowed/],
      [["--rate", "100..200:1"], /--rate: '100..200:1' is not allowed/],
      [["--interval", "-1"], /--interval/],
      [["--protocol", "http", "--interval", "1"], /--protocol http --interval: autocannon/],
      [["--protocol", "http", "--rate", "10..20"], /--protocol http --rate A\.\.B: autocannon/],
      [["--rate", "10..20", "--pipeline", "2"], /--pipeline --rate: each chooses the workload/],
      // Found before the run, not after it (the Kubernetes Job's fleet test met it after 8 s).
      [
        ["--save", "/nonexistent-dir/x.json"],
        /--save \/nonexistent-dir\/x.json: cannot write it \(ENOENT\)/,
      ],
    ] as const) {
      const r = await runLoadCli(["--port", String(port), ...args]);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, "one line");
    }
  });
});
