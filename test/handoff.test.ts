/**
 * handoff: connections spread over the workers under both policies, a dead or stuck worker costs
 * no connection, and a rush of connections spills to direct accept and comes back.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { LINES } from "../src/log.ts";
import { BALANCES } from "../src/main/config/config.ts";
import { echoRush, echoThrough, open, random, roundTrip } from "./helpers/client.ts";
import { once as requestOnce } from "./helpers/http.ts";
import { countByOwner, ownerOf } from "./helpers/owners.ts";
import { childPids, type RunningServer, serve, sleep, waitFor, within } from "./helpers/server.ts";

const HANDOFF = ["--mode", "handoff", "--workers", "2"];

/** Sockets to destroy when the test ends, registered before the server so they close first. */
function track(t: { after(fn: () => void): void }): Socket[] {
  const sockets: Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  return sockets;
}

/** Open `n` connections one at a time, each proven served by a round trip. */
async function openSerially(port: number, n: number, into: Socket[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const s = await open(port);
    into.push(s);
    await roundTrip(s, random(16));
  }
}

/** How many of `sockets` each worker process of `server` holds (-1: none of them). */
function perWorker(server: RunningServer, sockets: readonly Socket[]): Map<number, number> {
  const ports = sockets.map((s) => s.localPort as number);
  return countByOwner(server.port, ports, childPids(server.pid));
}

/** How many spills the server's debug log shows started and ended. */
function spills(server: RunningServer): { started: number; ended: number } {
  const count = (msg: string) => server.lines.filter((l) => l.msg === msg).length;
  return {
    started: count("spill: workers accept directly"),
    ended: count("spill over: handoff resumes"),
  };
}

/** Wait until no spill is in progress: every one that started has ended. */
function spillOver(server: RunningServer): Promise<true> {
  return waitFor("the end of the spill", () => {
    const { started, ended } = spills(server);
    return started === ended ? true : undefined;
  });
}

function spread(counts: Map<number, number>): { min: number; max: number } {
  const values = [...counts.values()];
  return { min: Math.min(...values), max: Math.max(...values) };
}

describe("handoff", () => {
  for (const balance of BALANCES) {
    it(`spreads long-lived connections evenly with --balance ${balance}`, async (t) => {
      const sockets = track(t);
      const server = await serve(t, [...HANDOFF, "--balance", balance]);
      assert.equal(childPids(server.pid).length, 2);
      await openSerially(server.port, 40, sockets);
      const counts = perWorker(server, sockets);
      assert.equal(counts.get(-1), undefined, "every connection is held by a worker");
      const { min, max } = spread(counts);
      assert.ok(max <= 1.2 * min, `connections per worker: ${[...counts.values()]}`);
    });
  }

  it("keeps the balance within 1.2x for a burst of 200 concurrent long-lived connections", async (t) => {
    const sockets = track(t);
    const server = await serve(t, [...HANDOFF]);
    sockets.push(...(await Promise.all(Array.from({ length: 200 }, () => open(server.port)))));
    await Promise.all(sockets.map((s) => roundTrip(s, random(8))));
    const counts = perWorker(server, sockets);
    const { min, max } = spread(counts);
    assert.ok(max <= 1.2 * min, `connections per worker: ${[...counts.values()]}`);
  });

  it("replaces a worker killed with SIGKILL; the other worker's connections are untouched", async (t) => {
    const sockets = track(t);
    const server = await serve(t, [...HANDOFF, "--balance", "round-robin"]);
    const [victim, survivor] = childPids(server.pid) as [number, number];
    await openSerially(server.port, 6, sockets);
    const survivors = sockets.filter(
      (s) => ownerOf(server.port, s.localPort as number, [survivor]) === survivor,
    );
    assert.ok(survivors.length > 0);
    process.kill(victim, "SIGKILL");
    const replacement = await waitFor("a replacement worker", () => {
      const now = childPids(server.pid);
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    assert.ok(replacement.includes(survivor));
    for (const s of survivors) {
      const payload = random(1000);
      assert.deepEqual(await roundTrip(s, payload), payload);
    }
    for (let i = 0; i < 20; i++) {
      const payload = random(500);
      assert.deepEqual(await echoThrough(server.port, payload), payload);
    }
  });

  it("keeps handing connections to the others while one worker is slow to take handles", async (t) => {
    const server = await serve(t, [...HANDOFF]);
    const [stuck] = childPids(server.pid) as [number];
    process.kill(stuck, "SIGSTOP");
    t.after(() => {
      try {
        process.kill(stuck, "SIGCONT");
      } catch {}
    });
    // A stopped worker never acknowledges: at most the one handle in flight on its channel
    // waits; every other connection goes to the other worker.
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => echoThrough(server.port, random(256), 64 * 1024, 1_500)),
    );
    const served = results.filter((r) => r.status === "fulfilled").length;
    assert.ok(served >= 29, `served ${served} of 30 while a worker was stopped`);
    process.kill(stuck, "SIGCONT");
  });

  it("gives a handle whose worker dies before taking it to another worker", async (t) => {
    const sockets = track(t);
    const server = await serve(t, [...HANDOFF, "--balance", "round-robin"]);
    const [stuck] = childPids(server.pid) as [number];
    process.kill(stuck, "SIGSTOP");
    // Round robin sends the first free-channel pick to each worker in turn: within two
    // connections one lands on the stopped worker and waits there, unacknowledged.
    const pending: Promise<Buffer>[] = [];
    const payloads: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await open(server.port);
      sockets.push(s);
      const p = random(64);
      payloads.push(p);
      pending.push(roundTrip(s, p, 20_000));
    }
    const early = await within(
      Promise.allSettled(pending).then(() => "all"),
      500,
      () => "some",
    );
    assert.equal(early, "some", "one connection should wait on the stopped worker");
    process.kill(stuck, "SIGKILL");
    const echoed = await Promise.all(pending);
    for (const [i, e] of echoed.entries()) assert.deepEqual(e, payloads[i]);
  });

  it("without spill, queues a rush in the primary and serves every connection", async (t) => {
    const server = await serve(t, [
      "--mode",
      "handoff",
      "--workers",
      "2",
      "--spill",
      "off",
      "--log-level",
      "debug",
    ]);
    await echoRush(server.port, 64, 20);
    assert.ok(!server.lines.some((l) => l.msg === LINES.spillStarted));
  });

  it("spills to direct accept under a rush of connections and returns to handoff", async (t) => {
    const sockets = track(t);
    const server = await serve(t, [...HANDOFF, "--log-level", "debug"]);
    await echoRush(server.port, 64, 40);
    assert.ok(spills(server).started > 0, "the rush spilled");
    await spillOver(server);
    // Handoff again: both workers still get connections, once their load reports (every
    // 100 ms) show that the rush's connections are gone.
    await sleep(300);
    await openSerially(server.port, 10, sockets);
    const counts = perWorker(server, sockets);
    assert.ok(spread(counts).min > 0, `connections per worker: ${[...counts.values()]}`);
  });

  it("spills the HTTP listener too under a rush of HTTP connections", async (t) => {
    const server = await serve(t, [...HANDOFF, "--http", "0", "--log-level", "debug"]);
    const http = server.listening.http as number;
    const rush = Array.from({ length: 64 }, async () => {
      for (let i = 0; i < 20; i++) {
        const body = random(64);
        assert.deepEqual((await requestOnce(http, { method: "POST", body })).body, body);
      }
    });
    await Promise.all(rush);
    const started = server.lines.filter((l) => l.msg === LINES.spillStarted);
    assert.ok(
      started.some((l) => l.service === "http"),
      "the HTTP listener was lent to the workers",
    );
    await spillOver(server);
  });

  it("survives a worker killed in the middle of a spill, and spills again afterwards", async (t) => {
    const server = await serve(t, [...HANDOFF, "--log-level", "debug"]);
    const started = () => spills(server).started;
    const rush = async (ms: number) => {
      const until = Date.now() + ms;
      let failed = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (Date.now() < until) {
            const payload = random(64);
            const ok = await echoThrough(server.port, payload, 64, 3_000).then(
              (e) => e.equals(payload),
              () => false,
            );
            if (!ok) failed++;
          }
        }),
      );
      return failed;
    };
    const [victim] = childPids(server.pid) as [number];
    const first = rush(1_500);
    await waitFor("a spill", () => (started() > 0 ? true : undefined));
    await sleep(300);
    process.kill(victim, "SIGKILL");
    // Only connections the dead worker had already taken can fail: at most one per client loop.
    assert.ok((await first) <= 32);
    await waitFor("a replacement worker", () => {
      const now = childPids(server.pid);
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    // Once the rush is over, the spill ends...
    await spillOver(server);
    // ...and a new rush spills again (how soon depends on how loaded this machine is).
    const before = started();
    for (let i = 0; i < 8 && started() === before; i++) {
      assert.equal(await rush(500), 0, "no connection fails once the worker is replaced");
    }
    assert.ok(started() > before, "the rush spilled again");
  });
});
