/**
 * `npm run test:fleet` (issue 15; Linux, root, HAProxy): echoplex deployed as a fleet on one
 * machine. Three "hosts" (network namespaces) each run echoplex (handoff, 2 workers, admin on an
 * address of its own); HAProxy in a fourth balances them (TCP mode for echo, HTTP mode for HTTP,
 * health checks on /readyz); two client namespaces run `echoplex-load --at T --save FILE`
 * through it, TCP churn and HTTP each, merged with `echoplex-load merge`. Under that load: a
 * rolling deploy (each host in turn SIGTERM -> drained -> started again, the next only once
 * HAProxy has it up) costs no error, timeout or mismatch; a SIGKILLed host costs a bounded
 * number of errors until HAProxy takes it out, and none after. Figures go to the test's
 * diagnostics (docs/DEPLOY.md, "A fleet on one machine").
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { Fleet, type Host, type LoadRun, type Merged } from "./fleet.ts";
import { haproxyConfig, stats } from "./haproxy.ts";

const why =
  process.platform !== "linux"
    ? "Linux only (network namespaces)"
    : process.getuid?.() !== 0
      ? "needs root (ip netns)"
      : spawnSync("haproxy", ["-v"]).status !== 0
        ? "needs haproxy (apt-get install haproxy; .ci/run installs it)"
        : null;

/** Connections each load process keeps busy: 2 clients x (TCP churn + HTTP) x this. */
const CONCURRENCY = 4;

describe("a fleet of echoplex behind HAProxy", { skip: why ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "echoplex-fleet-"));
  const fleet = new Fleet(dir, CONCURRENCY);

  before(async () => {
    await fleet.up(["h1", "h2", "h3"], ["c1", "c2"], haproxyConfig);
  });
  after(async () => {
    await fleet.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a rolling deploy under load: no error, timeout or mismatch at the clients", async (t) => {
    // The deploy takes ~9 s (3 hosts, 2.6-3.0 s each, measured): a window of 10x that covers it
    // on a machine ten times slower, so the check below is on coverage, not on speed.
    const seconds = 90;
    const run = fleet.load("rolling", seconds);
    await run.started;
    const rolled: string[] = [];
    for (const host of fleet.hosts) {
      const took = await fleet.redeploy(host);
      rolled.push(`${host.name}: drained and back in ${took} ms`);
    }
    assert.ok(performance.now() < run.endsAt, "the deploy finished inside the measured window");
    const merged = await run.done;
    report(t, "rolling deploy", merged, rolled);
    for (const [kind, m] of Object.entries(merged)) {
      assert.ok(m.messages > 0, `${kind}: load went through`);
      assert.deepEqual(
        { errors: m.errors, timeouts: m.timeouts, mismatches: m.mismatches },
        { errors: 0, timeouts: 0, mismatches: 0 },
        `${kind}: ${JSON.stringify(m)}`,
      );
    }
    await shares(t, fleet);
  });

  it("a host SIGKILLed under load: HAProxy takes it out, the errors are bounded, none after", async (t) => {
    const during = fleet.load("kill", 6);
    await during.started;
    const victim = fleet.hosts[1] as Host;
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = performance.now();
    fleet.crash(victim);
    await fleet.until(async () => (await fleet.status(victim)).every((s) => s !== "UP"), 10_000);
    const outMs = Math.round(performance.now() - killedAt);
    const merged = await during.done;
    const after = await fleet.load("after-kill", 3).done;
    report(t, "SIGKILL of one host", merged, [`HAProxy took it out ${outMs} ms after the kill`]);
    report(t, "after it was out", after, []);
    for (const [kind, m] of Object.entries(merged)) {
      // At most one failure per connection or request in flight on the killed host.
      assert.ok(m.errors + m.timeouts <= 2 * CONCURRENCY, `${kind}: bounded: ${JSON.stringify(m)}`);
      assert.equal(m.mismatches, 0);
    }
    for (const [kind, m] of Object.entries(after)) {
      assert.ok(m.messages > 0);
      assert.deepEqual([m.errors, m.timeouts, m.mismatches], [0, 0, 0], kind);
    }
  });
  it("the Kubernetes load Job's exact commands: a client per namespace, one shared directory, one merge with --slo", async (t) => {
    const { loads, merged, files } = await fleet.kubernetesJob(3);
    for (const l of loads) assert.equal(l.code, 0, l.err);
    assert.deepEqual(
      files,
      fleet.clients.map((_, i) => `${i}.json`),
      "a report per index",
    );
    // The manifest's SLO is the operator's: on this machine it may hold or not; either way the
    // merge says so in one line, and the report covers every client.
    assert.ok(
      merged.code === 0 || (merged.code === 1 && /\[ECHOPLEX_SLO_BROKEN\]\n$/.test(merged.err)),
      `merge exit ${merged.code}: ${merged.err}`,
    );
    const m = JSON.parse(merged.out.trim().split("\n").at(-1) as string) as Merged;
    assert.equal(m.clients, fleet.clients.length);
    assert.ok(m.messages > 0);
    assert.deepEqual([m.errors, m.timeouts, m.mismatches], [0, 0, 0]);
    t.diagnostic(
      `Kubernetes Job's commands: ${m.clients} clients, ${m.msgs_per_s} msg/s, p99 ${m.p99_us} µs; the manifest's SLO ${merged.code === 0 ? "held" : "broke"}`,
    );
    // The gate fails the merge (and so its Job) when the SLO breaks.
    const strict = await fleet.kubernetesJob(1, "p99=1us");
    assert.equal(strict.merged.code, 1);
    assert.match(
      strict.merged.err,
      /the run broke the SLO p99=1us: p99 .* \[ECHOPLEX_SLO_BROKEN\]\n$/,
    );
  });
});

/** The figures of one window, as diagnostics (the source of docs/DEPLOY.md's table). */
function report(t: TestContext, what: string, merged: LoadRun, notes: readonly string[]): void {
  for (const [kind, m] of Object.entries(merged))
    t.diagnostic(
      `${what}, ${kind}: ${m.clients} clients, ${m.messages} ${kind === "tcp" ? "connections" : "requests"} (${m.msgs_per_s}/s), p50 ${m.p50_us} µs, p99 ${m.p99_us} µs, errors ${m.errors}, timeouts ${m.timeouts}, mismatches ${m.mismatches}`,
    );
  for (const n of notes) t.diagnostic(`${what}: ${n}`);
}

/** Every host's share of the connections HAProxy gave out. */
async function shares(t: TestContext, fleet: Fleet): Promise<void> {
  const all = await stats(fleet.socket);
  for (const backend of ["echo", "http"]) {
    const rows = all.filter((s) => s.backend === backend);
    const total = rows.reduce((n, s) => n + s.total, 0);
    t.diagnostic(
      `${backend} shares: ${rows.map((s) => `${s.server} ${s.total} (${Math.round((100 * s.total) / total)}%)`).join(", ")}`,
    );
    for (const s of rows) assert.ok(s.total > 0, `${backend}: ${s.server} got connections`);
  }
}
