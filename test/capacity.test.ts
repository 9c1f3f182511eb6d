/**
 * The capacity search (src/load/capacity.ts) against a model of a server: latency that grows as
 * the rate nears its capacity (p99 = base / (1 - rate / C)), failures past it, and a client that
 * saturates above its own limit. Generated models, starts and precisions: the rate found meets
 * the SLO, is within the precision of the highest that does, and the steps stay bounded. The
 * search against a real server: test/faults/capacity.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type SearchOptions, searchCapacity } from "../src/load/capacity.ts";
import { parseSlo, type Slo } from "../src/load/report/slo.ts";
import type { LoadReport } from "../src/load/run.ts";
import { startFaultyEcho } from "./fixtures/faulty-echo.ts";
import { runLoadCli } from "./helpers/load.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);

/** A server of capacity `c` (msg/s) with `baseUs` of latency idle; a client that tops out at `limit`. */
function model(c: number, baseUs: number, limit = Number.POSITIVE_INFINITY) {
  return async (rate: number): Promise<LoadReport> => {
    const over = rate >= c;
    const p99 = over ? 10_000_000 : baseUs / (1 - rate / c);
    return {
      msgs_per_s: Math.min(rate, limit),
      messages: Math.min(rate, limit),
      samples: 1,
      p50_us: p99 / 3,
      p90_us: p99 / 2,
      p99_us: p99,
      p999_us: p99 * 1.5,
      max_us: p99 * 2,
      failed_in_window: over ? Math.round(rate / 10) : 0,
      mismatches: 0,
      client_saturated: rate > limit,
    } as LoadReport;
  };
}

const slo = (text: string): Slo => parseSlo(text) as Slo;
const OPTIONS: SearchOptions = { start: 1000, max: 10_000_000, precision: 0.1, maxSteps: 24 };

describe("capacity search", () => {
  it("ramps, bisects and confirms: the rate found is within 10% below the highest that meets p99", async () => {
    // p99 <= 500 us with 100 us idle: rate <= 0.8 C = 8,000.
    const seen: string[] = [];
    const r = await searchCapacity(slo("p99=500us"), model(10_000, 100), OPTIONS, (s) =>
      seen.push(s.phase),
    );
    assert.ok(
      r.capacity_msgs_per_s <= 8000 && r.capacity_msgs_per_s >= 8000 / 1.1,
      `${r.capacity_msgs_per_s}`,
    );
    assert.equal(r.confirmed, true);
    assert.equal(r.client_limited, false);
    assert.deepEqual([...new Set(seen)], ["ramp", "bisect", "confirm"]);
    assert.equal(seen.length, r.steps.length);
    assert.ok(
      r.steps.every((s) => s.rate === 8000 || s.met === s.rate < 8000),
      "each step's verdict is the model's",
    );
    assert.ok(r.upper_msgs_per_s !== null && r.upper_msgs_per_s / r.capacity_msgs_per_s <= 1.1);
  });

  it("from a start above capacity it comes down; nothing met: capacity 0, not confirmed", async () => {
    const down = await searchCapacity(slo("p99=500us"), model(10_000, 100), {
      ...OPTIONS,
      start: 100_000,
    });
    assert.ok(down.capacity_msgs_per_s <= 8000 && down.capacity_msgs_per_s >= 8000 / 1.1);
    const none = await searchCapacity(slo("p99=1us"), model(10_000, 100), OPTIONS);
    assert.deepEqual([none.capacity_msgs_per_s, none.confirmed], [0, false]);
    assert.ok(none.steps.length <= OPTIONS.maxSteps);
  });

  it("stops when the client is the limit, and says so", async () => {
    const r = await searchCapacity(slo("p99=500us"), model(10_000, 100, 3000), OPTIONS);
    assert.equal(r.client_limited, true);
    assert.ok(r.capacity_msgs_per_s > 0 && r.capacity_msgs_per_s <= 3000);
    assert.equal(r.steps.at(-1)?.phase, "confirm");
  });

  it("a client saturated on the confirmation says so too: the capacity is then at least that", async () => {
    const run = model(10_000, 100);
    let calls = 0;
    const found = await searchCapacity(
      slo("p99=500us"),
      async (rate) => {
        const r = await run(rate);
        return { ...r, client_saturated: ++calls === 1 ? false : r.client_saturated };
      },
      { ...OPTIONS, start: 100_000 },
    );
    assert.equal(found.client_limited, false, "a model whose client never saturates");
    let confirming = false;
    const limited = await searchCapacity(
      slo("p99=500us"),
      async (rate) => {
        const r = await run(rate);
        return { ...r, client_saturated: confirming };
      },
      OPTIONS,
      (s) => {
        confirming = s.phase === "bisect" || confirming;
      },
    );
    assert.equal(limited.steps.at(-1)?.phase, "confirm");
    assert.equal(limited.client_limited, true);
  });

  it("a confirmation that misses twice (a target whose capacity wanders) is confirmed 19% lower", async () => {
    const run = model(10_000, 100);
    // The model is deterministic: a first search says how many steps come before confirmation.
    const plain = await searchCapacity(slo("p99=500us"), run, OPTIONS);
    const before = plain.steps.filter((s) => s.phase !== "confirm").length;
    let calls = 0;
    const r = await searchCapacity(
      slo("p99=500us"),
      async (rate) => {
        const report = await run(rate);
        // The target is slower on the first two confirmation runs: they miss.
        calls++;
        return calls > before && calls <= before + 2 ? { ...report, p99_us: 10_000 } : report;
      },
      OPTIONS,
    );
    const confirms = r.steps.filter((s) => s.phase === "confirm");
    assert.deepEqual(
      confirms.map((s) => s.met),
      [false, false, true],
    );
    assert.equal(confirms[1]?.rate, Math.floor((confirms[0]?.rate ?? 0) * 0.9));
    assert.equal(r.capacity_msgs_per_s, confirms[2]?.rate);
    assert.equal(r.confirmed, true);
  });

  it("errors count: a step with failures misses errors=0", async () => {
    const r = await searchCapacity(slo("p99=10s,errors=0"), model(10_000, 100), OPTIONS);
    assert.ok(r.capacity_msgs_per_s < 10_000 && r.capacity_msgs_per_s >= 10_000 / 1.1 / 1.1);
    assert.ok(r.steps.some((s) => !s.met && s.breaches.some((b) => b.startsWith("errors"))));
  });

  it(`generated servers, starts and precisions (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 100, max: 5_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.constantFrom(0.05, 0.1, 0.25),
        async (c, start, precision) => {
          const o = { ...OPTIONS, start, precision };
          const r = await searchCapacity(slo("p99=500us"), model(c, 100), o);
          const best = 0.8 * c;
          assert.ok(r.steps.length <= o.maxSteps);
          // Never more than the model allows; what missed lies above it.
          assert.ok(r.capacity_msgs_per_s <= best, `${r.capacity_msgs_per_s} > ${best}`);
          if (r.upper_msgs_per_s !== null)
            assert.ok(r.upper_msgs_per_s >= best * (1 - 1e-9), `${r.upper_msgs_per_s} < ${best}`);
          // Within the precision once bracketed with steps to spare (a missed confirmation: 10% more).
          const spare = r.steps.length < o.maxSteps - 2;
          if (r.confirmed && r.upper_msgs_per_s !== null && spare)
            assert.ok(r.upper_msgs_per_s / r.capacity_msgs_per_s <= (1 + precision) / 0.9 + 1e-6);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("--slo on the command line", () => {
  it("--churn --slo searches new connections a second, and says conn/s", async () => {
    const { server, port } = await startFaultyEcho("none");
    try {
      const r = await runLoadCli([
        ...["--port", String(port), "--churn", "--slo", "p99=2s,errors=0"],
        ...["--rate", "50..200", "--duration", "0.3", "--warmup", "0", "--threads", "1"],
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /ramp +50 conn\/s offered/);
      assert.match(r.stdout, /^capacity: 200 conn\/s within p99=2s,errors=0 \(confirmed\)$/m);
    } finally {
      server.close();
    }
  });

  it("--slo with what the search cannot use: one line, exit 2", async () => {
    for (const [args, why] of [
      [["--slo", "q=1"], /--slo: 'q' is not one of/],
      [["--slo", "p99=5ms", "--pipeline", "2"], /--slo --pipeline: the search runs the open loop/],
      [["--slo", "p99=5ms", "--interval", "1"], /--slo --interval/],
    ] as const) {
      const r = await runLoadCli(["--port", "1", ...args]);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    }
  });
});
