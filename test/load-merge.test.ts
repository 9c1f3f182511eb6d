/** Load clients on several hosts, one report: saved reports merge exactly (docs/DEPLOY.md). */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  createHistogram,
  encodeHistogram,
  mergeHistograms,
  summarize,
} from "../src/load/report/histogram.ts";
import { mergeReports } from "../src/load/report/merge.ts";
import type { LoadReport } from "../src/load/run.ts";
import { runLoadCli } from "./helpers/load.ts";
import { serve } from "./helpers/server.ts";

/** `echoplex-load merge ...` (`npm run load:merge`). */
const merge = (args: readonly string[]) => runLoadCli(["merge", ...args]);

describe("load: several clients, one report", () => {
  it("merging is exact: percentiles of the merged histograms are those of all values", () => {
    const a = createHistogram();
    const b = createHistogram();
    const all = createHistogram();
    for (let i = 1; i <= 10_000; i++) {
      const v = i * 1_000 + (i % 7) * 37;
      (i % 3 === 0 ? a : b).recordValue(v);
      all.recordValue(v);
    }
    const base = { messages: 0, client_thread_cores: [], service_p50_us: 0, service_p99_us: 0 };
    const merged = mergeReports([
      { ...base, histogram: encodeHistogram(a), messages: a.totalCount } as unknown as LoadReport,
      { ...base, histogram: encodeHistogram(b), messages: b.totalCount } as unknown as LoadReport,
    ]);
    // Compared through the same encoding the reports travel in (a max comes back as the top of
    // its bucket, histogram.ts).
    const expected = summarize(mergeHistograms([encodeHistogram(all)]));
    for (const key of ["p50_us", "p90_us", "p99_us", "p999_us", "max_us", "samples"] as const)
      assert.equal(merged[key], expected[key], key);
    assert.equal(merged.messages, 10_000);
  });

  it("UDP's lost, reordered and late add up over hosts (regression: they were the first host's)", () => {
    const base = { messages: 100, client_thread_cores: [], service_p50_us: 0, service_p99_us: 0 };
    const udp = (lost: number, suspected: boolean) =>
      ({
        ...base,
        protocol: "udp",
        histogram: encodeHistogram(createHistogram()),
        lost,
        reordered: 1,
        late: 2,
        udp_limit_suspected: suspected,
      }) as unknown as LoadReport;
    const merged = mergeReports([udp(0, false), udp(30, true)]);
    assert.deepEqual(
      [merged.lost, merged.reordered, merged.late, merged.udp_limit_suspected],
      [30, 2, 4, true],
    );
  });

  it("two clients run at once with --at and --save; load:merge adds them up", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2"]);
    const dir = mkdtempSync(join(tmpdir(), "echoplex-merge-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // Both clients must be up before then: 10× the ~0.5 s a client takes to start (1.5 s was
    // missed under load with three test files at once).
    const at = String(Date.now() + 5_000);
    const files = [join(dir, "a.json"), join(dir, "b.json")];
    const runs = await Promise.all(
      files.map((file) =>
        runLoadCli([
          ...["--port", String(server.port), "--connections", "4", "--threads", "1"],
          ...["--duration", "0.5", "--warmup", "0", "--at", at, "--save", file, "--json"],
        ]),
      ),
    );
    for (const r of runs) assert.equal(r.status, 0, r.stderr);
    const saved = files.map((f) => JSON.parse(readFileSync(f, "utf8")) as LoadReport);
    const merged = await merge([...files, "--json"]);
    assert.equal(merged.status, 0, merged.stderr);
    const m = merged.json as Record<string, number>;
    assert.equal(m.clients, 2);
    assert.equal(m.connections, 8);
    assert.equal(m.messages, saved[0].messages + saved[1].messages);
    assert.equal(m.samples, saved[0].samples + saved[1].samples);
    assert.ok(Math.abs(m.msgs_per_s - (saved[0].msgs_per_s + saved[1].msgs_per_s)) < 1);
    assert.ok(m.p99_us >= Math.min(saved[0].p99_us, saved[1].p99_us));
    assert.ok(m.p99_us <= Math.max(saved[0].p99_us, saved[1].p99_us) * 1.001 + 1);
    // An SLO gate: the report first, then one line and exit 1 when the merged run breaks it.
    const broken = await merge([...files, "--slo", "p99=1us,errors=0"]);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stdout, /2 clients merged/);
    assert.match(
      broken.stderr,
      /^echoplex-load: the run broke the SLO p99=1us,errors=0: p99 [\d.]+ (us|ms|s) > 1 us \[ECHOPLEX_SLO_BROKEN\]\n$/,
    );
    const met = await merge([...files, "--slo=p99=10s,p999=10s,errors=0"]);
    assert.equal(met.status, 0, met.stderr);
    // A file that is not a saved report: one line, exit 2.
    writeFileSync(join(dir, "bad.json"), "{}");
    const bad = await merge([join(dir, "bad.json")]);
    assert.equal(bad.status, 2);
    assert.match(
      bad.stderr,
      /: not a report saved by npm run load -- --save .*\[ECHOPLEX_BAD_FLAG\]\n$/,
    );
  });

  it("merge with no files, or a flag it does not know: one line each, exit 2", async () => {
    const none = await merge(["--json"]);
    assert.equal(none.status, 2);
    assert.match(
      none.stderr,
      /^echoplex-load: merge: give the report files .*\[ECHOPLEX_BAD_FLAG\]\n$/,
    );
    const unknown = await merge(["a.json", "--rate"]);
    assert.equal(unknown.status, 2);
    assert.match(
      unknown.stderr,
      /--rate.*usage: echoplex-load merge .*\[ECHOPLEX_UNKNOWN_FLAG\]\n$/,
    );
    for (const [args, why] of [
      [["a.json", "--slo"], /--slo: give it a spec/],
      [
        ["a.json", "--slo", "p98=5ms"],
        /--slo: 'p98' is not one of p50, p90, p99, p999, max, errors/,
      ],
      [["a.json", "--slo", "p99=0"], /--slo: p99: '0' is not a duration above 0/],
      [["a.json", "--slo=errors=1.5"], /--slo: errors: '1.5' is not a count/],
    ] as const) {
      const r = await merge(args);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, why);
      assert.match(r.stderr, /\[ECHOPLEX_BAD_FLAG\]\n$/);
      assert.equal(r.stderr.split("\n").length, 2, "one line");
    }
  });

  it("reports saved by HTTP runs merge too, latency as the worst client's (regression: load:merge threw on their empty histogram)", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const dir = mkdtempSync(join(tmpdir(), "echoplex-merge-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = [join(dir, "a.json"), join(dir, "b.json")];
    for (const file of files) {
      const r = await runLoadCli([
        ...["--protocol", "http", "--port", String(server.listening.http), "--connections", "2"],
        ...["--duration", "0.5", "--warmup", "0", "--save", file, "--json"],
      ]);
      assert.equal(r.status, 0, r.stderr);
    }
    const saved = files.map((f) => JSON.parse(readFileSync(f, "utf8")) as LoadReport);
    assert.equal(saved[0]?.histogram, "", "an HTTP report has no histogram");
    const merged = await merge([...files, "--json"]);
    assert.equal(merged.status, 0, merged.stderr);
    const m = merged.json as Record<string, unknown>;
    assert.equal(m.latency_exact, false);
    assert.equal(m.messages, (saved[0]?.messages ?? 0) + (saved[1]?.messages ?? 0));
    assert.equal(m.p99_us, Math.max(saved[0]?.p99_us ?? 0, saved[1]?.p99_us ?? 0));
    const text = await merge(files);
    assert.match(text.stdout, /2 clients merged \(latency: the worst client's percentiles/);
  });

  it("--at in the past, or more than a day away, is a usage error", async () => {
    const r = await runLoadCli(["--port", "1", "--at", "2001-01-01T00:00:00Z"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--at 2001-01-01T00:00:00Z: in the past/);
    // Regression: a wait past 2^31 ms started at once (Node fires such a timer after 1 ms).
    const far = await runLoadCli(["--port", "1", "--at", "2999-01-01T00:00:00Z"]);
    assert.equal(far.status, 2);
    assert.match(far.stderr, /: more than a day away.*\[ECHOPLEX_BAD_FLAG\]/);
  });
});
