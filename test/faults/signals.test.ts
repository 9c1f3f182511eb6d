/**
 * Signals under load (docs/RELIABILITY.md): 200 connections stream a checked byte pattern while
 * a prober keeps opening new connections, and then a worker is killed, the server is told to
 * restart (SIGHUP) or to stop (SIGTERM). Each prints its figures as test diagnostics.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LINES } from "../../src/log.ts";
import { ownersOf } from "../helpers/owners.ts";
import { childPids, serve, sleep, waitFor } from "../helpers/server.ts";
import { startProber, startStreams } from "../helpers/streams.ts";

const STREAMS = 200;
const PROBERS = 4;
const ARGS = ["--mode", "handoff", "--workers", "2", "--admin", "0", "--log-level", "info"];

/** /readyz says ready with every worker up (not `degraded`, as while one is replaced). */
async function whole(admin: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${admin}/readyz`);
  const body = (await res.json()) as { ready: boolean; degraded?: boolean };
  return res.status === 200 && body.ready && body.degraded !== true;
}

describe("faults: signals under 200 streaming connections", () => {
  it("SIGKILL of a worker: only its connections break, none refused, replaced", async (t) => {
    const server = await serve(t, ARGS);
    const admin = server.listening.admin as number;
    const load = await startStreams(server.port, STREAMS);
    await sleep(500);
    const pids = childPids(server.pid);
    const [victim] = pids as [number];
    const owners = ownersOf(
      server.port,
      load.streams.map((s) => s.port),
      pids,
    );
    const victims = new Set([...owners].filter(([, pid]) => pid === victim).map(([port]) => port));
    // Probing starts after that scan of /proc, which blocks this process: a probe waiting
    // through it could time out here, not in the server.
    const prober = startProber(server.port, PROBERS);
    await sleep(300);
    const killedAt = performance.now();
    process.kill(victim, "SIGKILL");
    // Replaced: a new worker process, and /readyz no longer degraded.
    let replacedMs = Number.NaN;
    while (performance.now() - killedAt < 20_000) {
      const now = childPids(server.pid);
      if (now.length === 2 && !now.includes(victim) && (await whole(admin))) {
        replacedMs = performance.now() - killedAt;
        break;
      }
      await sleep(5);
    }
    await sleep(500);
    const probes = await prober.stop();
    const result = await load.stop();
    const brokenPorts = load.streams.filter((s) => s.broken !== null).map((s) => s.port);
    t.diagnostic(
      `victim held ${victims.size} of ${STREAMS} streams; ${result.broken} broke, ` +
        `${result.complete} completed, ${result.corrupt} corrupt; probes ${probes.ok} ok, ` +
        `${probes.refused.length} refused, ${probes.broken.length} broken ${JSON.stringify(probes.broken)}; replacement ready after ${replacedMs.toFixed(0)} ms`,
    );
    assert.equal(result.corrupt, 0);
    for (const port of brokenPorts) assert.ok(victims.has(port), "only the victim's streams broke");
    assert.equal(result.complete, STREAMS - victims.size, "every other stream completed");
    assert.deepEqual(probes.refused, [], "no new connection refused");
    // A probe the victim was serving when it died is one of its connections: at most one per
    // probing loop.
    assert.ok(probes.broken.length <= PROBERS, probes.broken.join("; "));
    // Measured 542-701 ms (docs/RELIABILITY.md); the bound is 10x that, the figure is reported.
    assert.ok(replacedMs < 10_000, `replacement ready after ${replacedMs} ms`);
  });

  it("SIGHUP: every stream completes, no connection refused, no byte lost", async (t) => {
    const server = await serve(t, [...ARGS, "--drain-timeout", "30"]);
    const load = await startStreams(server.port, STREAMS);
    const prober = startProber(server.port);
    await sleep(500);
    const before = childPids(server.pid);
    const startedAt = performance.now();
    process.kill(server.pid, "SIGHUP");
    await waitFor("the rolling restart to finish", () =>
      server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
    );
    const restartMs = performance.now() - startedAt;
    await sleep(500); // new connections land on the new workers for a while
    const probes = await prober.stop();
    const result = await load.stop();
    t.diagnostic(
      `restart took ${restartMs.toFixed(0)} ms; ${result.complete} of ${STREAMS} streams ` +
        `completed (${(result.bytes / 2 ** 20).toFixed(0)} MiB echoed), ${result.corrupt} corrupt; ` +
        `probes ${probes.ok} ok, ${probes.refused.length} refused, ${probes.broken.length} broken`,
    );
    assert.equal(result.corrupt, 0);
    assert.deepEqual(result.errors, []);
    assert.equal(result.complete, STREAMS);
    assert.deepEqual([...probes.refused, ...probes.broken], []);
    assert.ok(probes.ok > 0);
    const after = await waitFor("the old workers to exit", () => {
      const pids = childPids(server.pid);
      return pids.length === 2 ? pids : undefined;
    });
    for (const pid of after) assert.ok(!before.includes(pid));
  });

  // The other process modes, reported for comparison (docs/RELIABILITY.md), not held to zero:
  // with SO_REUSEPORT the kernel resets what waits in a closing listener's accept queue.
  for (const mode of ["cluster", "reuseport"]) {
    it(`SIGHUP (${mode}): no byte corrupted; refused connections reported`, async (t) => {
      const args = [
        "--mode",
        mode,
        "--workers",
        "2",
        "--log-level",
        "info",
        "--drain-timeout",
        "30",
      ];
      const server = await serve(t, args);
      const load = await startStreams(server.port, STREAMS);
      const prober = startProber(server.port, PROBERS);
      await sleep(500);
      process.kill(server.pid, "SIGHUP");
      await waitFor("the rolling restart to finish", () =>
        server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
      );
      await sleep(500);
      const probes = await prober.stop();
      const result = await load.stop();
      t.diagnostic(
        `${mode}: ${result.complete} of ${STREAMS} streams completed, ${result.corrupt} corrupt; ` +
          `probes ${probes.ok} ok, ${probes.refused.length} refused, ${probes.broken.length} broken`,
      );
      assert.equal(result.corrupt, 0);
      assert.equal(result.complete, STREAMS, "open streams finish on their draining workers");
    });
  }

  it("SIGTERM: every byte sent before the signal is echoed before the close", async (t) => {
    const server = await serve(t, [...ARGS, "--drain-timeout", "20"]);
    const load = await startStreams(server.port, STREAMS);
    await sleep(500);
    const exited = new Promise<number | null>((r) => server.proc.once("exit", r));
    process.kill(server.pid, "SIGTERM");
    // The clients stop writing at the signal and half-close; the drain must echo the rest.
    const result = await load.stop();
    t.diagnostic(
      `${result.complete} of ${STREAMS} streams completed after SIGTERM ` +
        `(${(result.bytes / 2 ** 20).toFixed(0)} MiB echoed), ${result.corrupt} corrupt`,
    );
    assert.equal(result.corrupt, 0);
    assert.deepEqual(result.errors, []);
    assert.equal(result.complete, STREAMS);
    assert.equal(await exited, 0);
  });
});
