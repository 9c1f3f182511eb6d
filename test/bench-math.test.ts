/** The bench's arithmetic: histogram merging, medians and ratios, CPU per unit, flags, order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threadCores, treeThreadCpu } from "../bench/lib/proc.ts";
import { coresUsed, cpuMicrosPer, median, ratio, spread } from "../bench/lib/stats.ts";
import { clientBound } from "../bench/runner/bound.ts";
import {
  CAPACITY_SCENARIOS,
  type CapacityPlan,
  type CapacityRecord,
  type CapacityStep,
  capacitySchedule,
} from "../bench/runner/capacity.ts";
import { capacityMarkdown, capacityRows, kneeSpec } from "../bench/runner/capacity-report.ts";
import type { RunRecord } from "../bench/runner/measure.ts";
import {
  BASELINE,
  echoSection,
  type Plan,
  scenario,
  schedule,
  variants,
} from "../bench/runner/plan.ts";
import { projectedRate } from "../bench/runner/projection.ts";
import { type Row, skew, summarize } from "../bench/runner/summary.ts";
import { churnWorkVerdict, httpVerdict, workVerdict } from "../bench/runner/verdict.ts";
import { Pattern, VARIANTS } from "../src/load/flows/pattern.ts";
import {
  createHistogram,
  encodeHistogram,
  summarize as latency,
  mergeHistograms,
} from "../src/load/report/histogram.ts";

describe("histogram merging", () => {
  it("is exact: merged per-thread histograms equal one histogram fed every value", () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const whole = createHistogram();
    const parts = [createHistogram(), createHistogram(), createHistogram()];
    for (let i = 0; i < 30_000; i++) {
      // Log-spread values from 1 µs to 2 s, in ns, as the client records them.
      const v = Math.round(1000 * 2000 ** (rand() * 2));
      whole.recordValue(v);
      (parts[i % 3] as ReturnType<typeof createHistogram>).recordValue(v);
    }
    const merged = mergeHistograms(parts.map(encodeHistogram));
    assert.equal(merged.totalCount, whole.totalCount);
    for (const p of [1, 10, 50, 90, 99, 99.9, 99.99, 100])
      assert.equal(merged.getValueAtPercentile(p), whole.getValueAtPercentile(p), `p${p}`);
    // The encoding keeps bucket counts, so the max comes back as its bucket's top (within 0.1%),
    // exactly as the whole histogram's does after the same trip.
    const whole2 = mergeHistograms([encodeHistogram(whole)]);
    assert.deepEqual(latency(merged), latency(whole2));
    assert.ok(Math.abs(merged.maxValue - whole.maxValue) <= whole.maxValue * 0.001);
  });

  it("summarizes an empty histogram as zeros, not NaN", () => {
    assert.deepEqual(Object.values(latency(createHistogram())), [0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("the payload pattern", () => {
  it("differs from byte to byte and from message to message", () => {
    const p = new Pattern(64);
    for (let i = 1; i < p.period.length; i++) assert.notEqual(p.period[i], p.period[i - 1]);
    for (let v = 1; v < VARIANTS; v++)
      assert.ok(!p.messages[v]?.equals(p.messages[v - 1] as Buffer));
  });

  it("over WebSocket: sends masked frames, expects the server's frames, counts payload bytes", () => {
    for (const size of [5, 200, 70_000]) {
      const p = new Pattern(size, "ws");
      const tcp = new Pattern(size);
      const head = size < 126 ? 2 : size < 65_536 ? 4 : 10;
      assert.equal(p.unit, head + size);
      for (let v = 0; v < VARIANTS; v++) {
        const sent = p.messages[v] as Buffer;
        assert.equal(sent[0], 0x82, "a final binary frame");
        assert.equal((sent[1] as number) & 0x80, 0x80, "masked");
        assert.equal(sent.readUInt32BE(head), 0, "with the key 0");
        // The payload on the wire and in the echo is the TCP stream's message.
        assert.deepEqual(sent.subarray(head + 4), tcp.messages[v]);
        const echoed = p.period.subarray(v * p.unit, (v + 1) * p.unit);
        assert.deepEqual(echoed.subarray(head), tcp.messages[v]);
        assert.equal(echoed[1], sent[1] & 0x7f, "the same length field, unmasked");
      }
      assert.equal(p.payloadBytes(0, p.unit * 3), size * 3);
      assert.equal(p.payloadBytes(1, head), 0, "inside a header");
      assert.equal(p.payloadBytes(head - 1, head + 3), 3);
      assert.equal(p.payloadBytes(p.unit - 1, p.unit + head + 1), 2);
    }
  });

  it("checks a chunk at any stream offset, across the period's end", () => {
    const p = new Pattern(10);
    const stream = Buffer.concat([p.period, p.period, p.period]);
    for (const [offset, length] of [
      [0, 10],
      [35, 20],
      [39, 1],
      [5, 75],
    ] as const) {
      const chunk = stream.subarray(offset, offset + length);
      assert.ok(p.matches(chunk, 0, length, offset), `${offset}+${length}`);
      const bad = Buffer.from(chunk);
      bad[length - 1] = (bad[length - 1] as number) ^ 1;
      assert.ok(!p.matches(bad, 0, length, offset), `flipped ${offset}+${length}`);
    }
  });
});

describe("stats", () => {
  it("median, spread, ratio, CPU per unit, cores", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
    assert.equal(ratio(150, 100), 1.5);
    assert.ok(Number.isNaN(ratio(1, 0)));
    assert.equal(cpuMicrosPer(0.5, 100_000), 5); // 0.5 CPU-s over 100k messages = 5 µs each
    assert.ok(Number.isNaN(cpuMicrosPer(1, 0)));
    assert.equal(coresUsed(3, 2), 1.5);
  });
});

describe("client-bound", () => {
  const run = {
    workload: "steady" as const,
    clientThreadCores: [0.5],
    serverCores: 1.9,
    workers: 2,
    machineCores: 2,
  };
  it("is not flagged when the server had all it could use and the client had room", () => {
    assert.deepEqual(clientBound(run), []);
  });
  it("is flagged when a client thread used a full core", () => {
    assert.match(
      clientBound({ ...run, clientThreadCores: [0.4, 0.95] }).join(),
      /client thread used 0.95/,
    );
  });
  it("is flagged when a closed-loop server idled below its cores (workers, at most the machine's)", () => {
    assert.match(clientBound({ ...run, serverCores: 1.2 }).join(), /server used 1.20 of 2 cores/);
    assert.match(clientBound({ ...run, workers: 4, serverCores: 1.7 }).join(), /of 2 cores/);
    assert.deepEqual(clientBound({ ...run, workers: 1, serverCores: 0.95 }), []);
  });
  it("open loop sets its own pace: an idle server is expected there", () => {
    assert.deepEqual(clientBound({ ...run, workload: "open", serverCores: 0.2 }), []);
  });
});

describe("plan and summary", () => {
  const s = scenario("steady", 64, 50);
  const plan: Plan = {
    sections: [echoSection([s], variants(["handoff", "cluster", "reuseport"], [2]))],
    rounds: 3,
    seconds: 1,
    warmupSeconds: 0,
    threads: 1,
  };

  it("runs the baseline first in every round and rotates the variants", () => {
    const runs = schedule(plan);
    assert.equal(runs.length, 3 * 4);
    const rounds = [0, 1, 2].map((r) => runs.filter((x) => x.round === r).map((x) => x.variant.id));
    assert.deepEqual(rounds, [
      ["single", "handoff x2", "cluster x2", "reuseport x2"],
      ["single", "cluster x2", "reuseport x2", "handoff x2"],
      ["single", "reuseport x2", "handoff x2", "cluster x2"],
    ]);
  });

  it("compares each run with the baseline of its own round, then takes the median", () => {
    const rec = (
      variant: string,
      round: number,
      rate: number,
      extra: Partial<RunRecord> = {},
    ): RunRecord => ({
      suite: "echo",
      baseline: variant === "single",
      scenario: s.id,
      variant,
      mode: variant === "single" ? "single" : "handoff",
      workers: variant === "single" ? 1 : 2,
      round,
      load: {
        msgs_per_s: rate,
        p50_us: rate / 1000,
        errors: 1,
        stalled: 1,
        timeouts: 0,
        mismatches: 0,
      } as NonNullable<RunRecord["load"]>,
      server_us_per_unit: 10,
      served: variant === "single" ? [50] : [30, 20],
      client_bound: [],
      ...extra,
    });
    const rows = summarize([
      rec("single", 0, 100),
      rec("handoff x2", 0, 150),
      rec("single", 1, 200), // a noisy round: the baseline doubled, and so did the variant
      rec("handoff x2", 1, 300),
      rec("single", 2, 100),
      rec("handoff x2", 2, 80, { client_bound: ["a client thread used 0.95 cores"] }),
      {
        suite: "echo",
        baseline: false,
        scenario: s.id,
        variant: "handoff x2",
        mode: "handoff",
        workers: 2,
        round: 3,
        error: "did not start",
      },
    ]);
    const h = rows.find((r) => r.variant === "handoff x2");
    assert.ok(h);
    assert.deepEqual(h.rate, { median: 150, min: 80, max: 300, n: 3 });
    // Per-round ratios 1.5, 1.5, 0.8: median 1.5. (Ratio of medians would say 150/100 too, but
    // min–max would hide that round 1 was as good as round 0.)
    assert.deepEqual(h.vsSingle, { median: 1.5, min: 0.8, max: 1.5, n: 3 });
    assert.deepEqual(h.served, [90, 60]);
    assert.equal(h.skew, 1.2);
    assert.equal(h.errors, 3);
    assert.equal(h.stalled, 3);
    assert.equal(h.failed, 1);
    assert.equal(h.clientBound, 1);
    assert.equal(rows.find((r) => r.variant === BASELINE.id)?.vsSingle.median, 1);
  });

  it("skew: busiest worker over an even share", () => {
    assert.equal(skew([50, 50]), 1);
    assert.equal(skew([75, 25]), 1.5);
    assert.ok(Number.isNaN(skew([100])));
  });
});

describe("verdicts", () => {
  const row = (
    variant: string,
    mode: string,
    rate: number,
    vs: number,
    extra: Partial<Row> = {},
  ): Row =>
    ({
      suite: "x",
      baseline: vs === 1 && !variant.includes("+"),
      scenario: "s",
      variant,
      mode,
      workers: mode === "handoff" ? 2 : 1,
      runs: 3,
      failed: 0,
      rate: { median: rate, min: rate, max: rate, n: 3 },
      vsSingle: { median: vs, min: vs * 0.9, max: vs * 1.1, n: 3 },
      serverUs: 60,
      serverCores: 1,
      clientBound: 0,
      boundReason: "",
      ...extra,
    }) as Row;

  it("http: calls it faster or slower only when every round agrees, and holds it to the bar", () => {
    const at = { scenario: "http steady 64 B x50", p99: 1000 };
    const base = row("node:http minimal (collect)", "node:http", 100, 1, at);
    const ours = (median: number, min: number, max: number, p99 = 900) =>
      row("echoplex single", "single", 100 * median, median, {
        ...at,
        p99,
        vsSingle: { median, min, max, n: 3 },
      });
    assert.match(httpVerdict([base, ours(1.1, 1.02, 1.2)]), /as fast or faster in every round/);
    assert.match(httpVerdict([base, ours(0.8, 0.75, 0.85)]), /slower in every round/);
    assert.match(
      httpVerdict([base, ours(1.03, 0.8, 1.2)]),
      /level: at least as fast on the median/,
    );
    assert.match(httpVerdict([base, ours(0.97, 0.8, 1.2)]), /level .* slower on the median/);
    assert.match(
      httpVerdict([base, ours(2.1, 1.9, 2.3)]),
      /p99 900 against 1,000 µs \(no worse\)\. Bar .*: met/,
    );
    assert.match(httpVerdict([base, ours(2.1, 1.9, 2.3, 1100)]), /\(worse\)\. Bar .*: not met/);
    assert.match(httpVerdict([base, ours(1.5, 1.4, 1.6)]), /Bar .*: not met/);
    const bound = { ...ours(2.1, 1.9, 2.3), clientBound: 2 };
    assert.match(
      httpVerdict([base, bound]),
      /Bar .*: cannot tell: the load client was the limit in 2 of 3 runs/,
    );
    // h2c against the obvious node:http2 echo, by rate and by CPU per request.
    const h2 = row("echoplex single, HTTP/2 (h2c)", "single", 33_000, 0.5, { ...at, serverUs: 25 });
    const peer = row("node:http2 minimal (h2c)", "node:http2", 30_000, 0.4, {
      ...at,
      serverUs: 30,
    });
    assert.match(
      httpVerdict([base, ours(2, 2, 2), h2, peer]),
      /HTTP\/2 \(h2c, .*\): 33,000 requests\/s, .*against node:http2 written the obvious way 30,000 requests\/s at 30\.0 µs: 1\.10× by median rate, 1\.20× by CPU per request \(bar ≥ 1\.1×\)\./,
    );
    const boundPeer = { ...peer, clientBound: 3 };
    assert.match(
      httpVerdict([base, ours(2, 2, 2), h2, boundPeer]),
      /\(bar ≥ 1\.1×: cannot tell, the load client was the limit; bench\/peers\/h2c\.sh reads it with h2load\)\./,
    );
    const other = { ...ours(2, 2, 2), scenario: "http steady 16 KiB x50" };
    assert.equal(httpVerdict([base, other]), "", "only the 64 B scenario has the bar");
  });

  it("work: names the fastest variant and explains it from the measured CPU", () => {
    const section = {
      suite: "work",
      baseline: BASELINE,
      variants: [],
      scenarios: [],
      serverFlags: [],
      note: { rounds: 40, us_per_message: 50 },
    } as const;
    const rows = [
      row("single", "single", 15_000, 1, { serverUs: 66 }),
      row("single + offload 2", "single", 20_000, 1.3, { serverUs: 90, baseline: false }),
      row("handoff x2", "handoff", 25_000, 1.6, { serverUs: 64 }),
      row("handoff x2 + offload 1", "handoff", 21_000, 1.4, { serverUs: 95, baseline: false }),
    ];
    const v = workVerdict(rows, section);
    assert.match(v, /handoff x2 wins, 1\.60×/);
    assert.match(v, /24\.0 µs more CPU per message than inline/);
    assert.match(v, /Why handoff wins/);
    const offloadWins = workVerdict(
      [rows[0] as Row, { ...(rows[1] as Row), rate: { median: 30_000, min: 1, max: 1, n: 3 } }],
      section,
    );
    assert.match(offloadWins, /Why offload wins/);
  });

  it("churn-work: holds handoff to issue 12's bars against the better peer and the single loop", () => {
    const rows = (handoff: number) => [
      row("single", "single", 4_000, 1),
      row("handoff x2", "handoff", handoff, handoff / 4_000),
      row("reuseport x2", "reuseport", 5_000, 1.25),
      row("cluster-shared x2", "cluster-shared", 5_200, 1.3),
    ];
    const met = churnWorkVerdict(rows(5_000));
    assert.match(met, /0\.96× \(bar ≥ 0\.95×: met\) the better .* \(cluster-shared x2, 1\.30×/);
    assert.match(met, /1\.25× \(bar ≥ 1\.2×: met\) the single loop/);
    const missed = churnWorkVerdict(rows(4_400));
    assert.match(missed, /0\.85× \(bar ≥ 0\.95×: not met\)/);
    assert.match(missed, /1\.10× \(bar ≥ 1\.2×: not met\)/);
    assert.equal(churnWorkVerdict(rows(5_000).slice(0, 2)), "", "no peer ran: nothing to say");
  });
});

describe("server CPU by thread", () => {
  it("splits a window's CPU into the busiest loop, all loops, worker threads and the rest", () => {
    const t = (name: string, seconds: number) => ({ name, seconds });
    const before = new Map([
      ["1/1", t("MainThread", 10)],
      ["2/2", t("MainThread", 5)],
      ["2/7", t("WorkerThread", 1)],
      ["2/3", t("V8Worker", 1)],
    ]);
    const after = new Map([
      ["1/1", t("MainThread", 10.2)],
      ["2/2", t("MainThread", 6.8)],
      ["2/7", t("WorkerThread", 2)],
      ["2/8", t("WorkerThread", 0.5)], // started inside the window: all of it counts
      ["2/3", t("V8Worker", 1.2)],
    ]);
    assert.deepEqual(threadCores(before, after, 2), {
      busiestLoop: 0.9,
      loops: 1,
      workerThreads: 0.75,
      other: 0.1,
    });
  });

  it("reads this process's own threads from /proc, its main thread by name", () => {
    const threads = [...treeThreadCpu(process.pid).values()];
    assert.ok(
      threads.some((x) => x.name === "MainThread"),
      JSON.stringify(threads.map((x) => x.name)),
    );
  });
});

describe("projection past this machine's cores", () => {
  const row = (mode: string, workers: number, primaryUs: number, workerUs: number) =>
    ({ mode, workers, primaryUs, workerUs }) as Row;

  it("caps a mode whose primary touches every unit at one core of its primary", () => {
    const handoff = row("handoff", 2, 20, 30);
    assert.equal(Math.round(projectedRate(handoff, 2)), 40_000); // 2 / 50 µs
    assert.equal(Math.round(projectedRate(handoff, 4)), 50_000); // 1 / 20 µs, not 4 / 50 µs
    assert.equal(Math.round(projectedRate(handoff, 64)), 50_000);
  });

  it("grows with the cores where the kernel spreads the connections, and not for one loop", () => {
    assert.equal(Math.round(projectedRate(row("reuseport", 2, 0, 25), 8)), 320_000);
    assert.equal(Math.round(projectedRate(row("cluster-shared", 2, 1, 24), 16)), 640_000);
    assert.equal(Math.round(projectedRate(row("single", 1, 40, 0), 64)), 25_000);
    assert.ok(Number.isNaN(projectedRate(row("handoff", 2, Number.NaN, Number.NaN), 4)));
  });
});

describe("capacity section", () => {
  const vs = variants(["handoff", "reuseport"], [2]);
  const plan: CapacityPlan = {
    slo: "p99=10ms,errors=0",
    baseline: BASELINE,
    variants: vs,
    scenarios: CAPACITY_SCENARIOS,
    rounds: 2,
    seconds: 1,
    warmupSeconds: 0,
    threads: 1,
  };
  const step = (rate: number, met: boolean, p99: number, phase = "ramp") =>
    ({
      phase,
      rate,
      msgs_per_s: rate,
      p50_us: p99 / 3,
      p99_us: p99,
      p999_us: p99,
      failed: 0,
      met,
      breaches: met ? [] : ["p99"],
      client_limited: false,
      server_cores: 0.5,
      client_cores: 0.4,
      server_us: rate / 1000,
      client_us: 9,
    }) as CapacityStep;
  const rec = (variant: string, round: number, capacity: number, extra = {}): CapacityRecord => ({
    scenario: "capacity: echo 64 B x50",
    variant,
    baseline: variant === "single",
    mode: variant.split(" ")[0] as string,
    workers: variant === "single" ? 1 : 2,
    round,
    capacity,
    upper: capacity * 1.1,
    confirmed: capacity > 0,
    client_limited: false,
    // The last step met at the capacity is the one reported, not the ramp's earlier pass.
    steps: [
      step(capacity, true, 1),
      step(capacity * 2, false, 50_000),
      step(capacity, true, 7000, "confirm"),
    ],
    ...extra,
  });

  it("runs the baseline's search first in every round and rotates the variants", () => {
    const runs = capacitySchedule(plan).filter((r) => r.scenario === CAPACITY_SCENARIOS[0]);
    assert.deepEqual(
      runs.map((r) => `${r.round} ${r.variant.id}`),
      ["0 single", "0 handoff x2", "0 reuseport x2", "1 single", "1 reuseport x2", "1 handoff x2"],
    );
  });

  it("capacity by round against that round's baseline; figures from the confirmation step", () => {
    const rows = capacityRows([
      rec("single", 0, 10_000),
      rec("handoff x2", 0, 15_000),
      rec("single", 1, 20_000), // a round twice as fast for both: the ratio holds
      rec("handoff x2", 1, 30_000, { client_limited: true }),
      { ...rec("handoff x2", 2, 0), error: "did not start", steps: [] },
      { ...rec("reuseport x2", 0, 8000), confirmed: false }, // its rate did not hold
      rec("reuseport x2", 1, 10_000),
    ]);
    const reuse = rows.find((r) => r.variant === "reuseport x2");
    assert.deepEqual(
      [reuse?.capacity.n, reuse?.capacity.median, reuse?.vs.median],
      [1, 10_000, 0.5],
    );
    assert.equal(reuse?.unconfirmed, 1, "left out of capacity and vs, and counted");
    const h = rows.find((r) => r.variant === "handoff x2");
    assert.ok(h);
    assert.deepEqual(h.capacity, { median: 22_500, min: 15_000, max: 30_000, n: 2 });
    assert.deepEqual(h.vs, { median: 1.5, min: 1.5, max: 1.5, n: 2 });
    assert.equal(h.p99, 7000, "the confirmation's p99, not the ramp's");
    assert.equal(h.serverUs, 22.5);
    assert.deepEqual([h.clientLimited, h.unconfirmed, h.failed], [1, 0, 1]);
    const md = capacityMarkdown(rows, plan);
    assert.match(md, /^## Capacity: the highest open-loop rate within p99=10ms,errors=0$/m);
    assert.match(
      md,
      /^\| handoff x2 \| 22,500 \(15,000–30,000\) \| 1\.50× \(1\.50–1\.50\) vs single \| 7,000 \| 22\.5 \/ 9\.0 \| 0\.50 \/ 0\.40 \| \*\*client-bound\*\* in 1: at least this; 1 failed: did not start \|$/m,
    );
    assert.match(
      md,
      /^Highest: handoff x2, 22,500 msg\/s \(1\.50× single\), the median of 2 confirmed searches; the client was the limit/m,
    );
  });

  it("the knee chart: every step, a line per variant and round, the SLO's p99 ruled", () => {
    const spec = kneeSpec([rec("single", 0, 10_000), rec("handoff x2", 0, 15_000)], plan.slo);
    const json = JSON.stringify(spec);
    assert.equal((spec as { data: { values: unknown[] } }).data.values.length, 6);
    assert.match(json, /"datum":10000/, "p99=10ms ruled at 10,000 µs");
    assert.equal(kneeSpec([], plan.slo), undefined);
  });
});
