/** The admin port: /healthz, /readyz, and readiness going 503 when a drain begins. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { open } from "./helpers/client.ts";
import { childPids, logged, serve } from "./helpers/server.ts";

interface Reading {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function get(port: number, path: string): Promise<Reading> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("admin port", () => {
  for (const mode of ["single", "handoff", "threads"]) {
    it(`answers /healthz and /readyz, and puts its port on the listening line (${mode})`, async (t) => {
      const s = await serve(t, ["--mode", mode, "--workers", "2"]);
      const admin = s.listening.admin as number;
      assert.ok(admin > 0 && admin !== s.port);
      const health = await get(admin, "/healthz");
      assert.equal(health.status, 200);
      assert.equal(health.body.status, "ok");
      assert.equal(health.body.pid, s.pid);
      assert.deepEqual(await get(admin, "/readyz"), { status: 200, body: { ready: true } });
      assert.equal((await get(admin, "/nope")).status, 404);
    });
  }

  /**
   * Kill one of `workers` workers and read /readyz until a reading matches `seenTrouble` and a
   * later one is whole again (200, not degraded); returns every reading.
   */
  async function readyzThroughACrash(
    t: TestContext,
    workers: number,
    seenTrouble: (r: Reading) => boolean,
  ): Promise<Reading[]> {
    const s = await serve(t, ["--mode", "handoff", "--workers", String(workers)]);
    const admin = s.listening.admin as number;
    const [victim] = childPids(s.pid);
    assert.ok(victim !== undefined);
    process.kill(victim, "SIGKILL");
    // A replacement takes a fork and a start-up (~100 ms and more): poll through it.
    const seen: Reading[] = [];
    const whole = (r: Reading | undefined) =>
      r?.status === 200 && (r.body as { degraded?: boolean }).degraded !== true;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(seen.some(seenTrouble) && whole(seen.at(-1)))) {
      seen.push(await get(admin, "/readyz"));
    }
    assert.ok(whole(seen.at(-1)), "whole again once replaced");
    return seen;
  }

  it("stays ready, saying degraded, while one of two workers is replaced", async (t) => {
    const degraded = (r: Reading) => (r.body as { degraded?: boolean }).degraded === true;
    const seen = await readyzThroughACrash(t, 2, degraded);
    assert.ok(
      seen.every((r) => r.status === 200),
      "a crash alone never takes the server out",
    );
    assert.deepEqual(seen.find(degraded)?.body, {
      ready: true,
      degraded: true,
      workers: { ready: 1, of: 2 },
    });
  });

  it("says not ready while no worker is up, and ready again after", async (t) => {
    const seen = await readyzThroughACrash(t, 1, (r) => r.status === 503);
    assert.deepEqual(seen.find((r) => r.status === 503)?.body, {
      ready: false,
      reason: "no worker is ready",
    });
  });

  it("says not ready (503) as soon as a drain begins, while /healthz stays 200", async (t) => {
    const s = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--drain-timeout", "5", "--log-level", "info"],
    ]);
    const admin = s.listening.admin as number;
    const held = await open(s.port); // keeps the drain going
    held.on("error", () => {});
    const exited = s.stop("SIGTERM");
    await logged(s, "draining");
    const ready = await get(admin, "/readyz");
    assert.deepEqual(ready, { status: 503, body: { ready: false, reason: "draining" } });
    assert.equal((await get(admin, "/healthz")).status, 200);
    held.destroy();
    await exited;
  });

  it("--admin off: no admin port", async (t) => {
    const s = await serve(t, ["--mode", "single", "--admin", "off"]);
    assert.equal("admin" in s.listening, false);
  });
});
