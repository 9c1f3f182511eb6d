/**
 * The SLO grammar (src/load/report/slo.ts) against generated specs — every key, unit and value
 * in range and beyond, repeats and unknown keys — and what breaks it in a report.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { breaches, parseSlo, type Slo } from "../src/load/report/slo.ts";
import type { LoadReport } from "../src/load/run.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);

function report(o: Partial<LoadReport>): LoadReport {
  return {
    samples: 100,
    p50_us: 100,
    p90_us: 200,
    p99_us: 400,
    p999_us: 900,
    max_us: 2000,
    messages: 1000,
    failed_in_window: 0,
    mismatches: 0,
    ...o,
  } as LoadReport;
}

const slo = (text: string): Slo => {
  const s = parseSlo(text);
  if (typeof s === "string") throw new Error(s);
  return s;
};

describe("--slo", () => {
  it("reads each key, unit and form", () => {
    const s = slo("p50=250us,p99=5ms,p999=1.5s,max=2,errors=0.1%");
    assert.deepEqual(s.latencyUs, { p50: 250, p99: 5000, p999: 1_500_000, max: 2000 });
    assert.deepEqual(s.errors, { at: 0.1, percent: true });
    assert.deepEqual(slo("errors=0").errors, { at: 0, percent: false });
  });

  it(`generated specs parse, or say what is wrong; none throws (seed ${SEED})`, () => {
    const key = fc.constantFrom(
      "p50",
      "p90",
      "p99",
      "p999",
      "max",
      "errors",
      "p98",
      "P99",
      "",
      " p99",
    );
    const value = fc.oneof(
      fc
        .tuple(
          fc.double({ min: -1, max: 1e7, noNaN: true }),
          fc.constantFrom("", "us", "µs", "ms", "s", "m", "%"),
        )
        .map(([n, u]) => `${n}${u}`),
      fc.constantFrom(
        "0",
        "1",
        "1.5",
        "5ms",
        "0.1%",
        "100%",
        "101%",
        "",
        "x",
        "1e3",
        "3600s",
        "3601s",
      ),
    );
    const spec = fc
      .array(fc.tuple(key, fc.option(value, { nil: undefined })), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(","));
    fc.assert(
      fc.property(spec, (text) => {
        const s = parseSlo(text);
        if (typeof s === "string") {
          assert.ok(s.length > 0 && !s.includes("\n"), "one sentence");
          return;
        }
        for (const us of Object.values(s.latencyUs)) assert.ok(us > 0 && us <= 3_600_000_000);
        if (s.errors !== null)
          assert.ok(s.errors.at >= 0 && (!s.errors.percent || s.errors.at <= 100));
        assert.equal(s.text, text);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("a report breaks it by each objective it misses, and only those", () => {
    assert.deepEqual(breaches(report({}), slo("p99=5ms,errors=0")), []);
    assert.deepEqual(breaches(report({ p99_us: 6000 }), slo("p99=5ms,p50=1ms")), [
      "p99 6 ms > 5 ms",
    ]);
    assert.deepEqual(breaches(report({ max_us: 2_500_000 }), slo("max=2s")), ["max 2.5 s > 2 s"]);
    // Errors, timeouts and losses in the window, and mismatches, against a count or a share.
    assert.deepEqual(breaches(report({ failed_in_window: 1 }), slo("errors=0")), ["errors 1 > 0"]);
    assert.deepEqual(breaches(report({ mismatches: 2 }), slo("errors=1")), ["errors 2 > 1"]);
    assert.deepEqual(
      breaches(report({ failed_in_window: 1, messages: 999 }), slo("errors=0.1%")),
      [],
    );
    assert.deepEqual(breaches(report({ failed_in_window: 2, messages: 998 }), slo("errors=0.1%")), [
      "errors 0.2% > 0.1%",
    ]);
    assert.deepEqual(breaches(report({ samples: 0, messages: 0 }), slo("p99=1s")), [
      "no latency measured (nothing was echoed)",
    ]);
  });
});
