/** The admin port: /healthz, /readyz, and readiness going 503 when a drain begins. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { open } from "./helpers/client.ts";
import { childPids, serve, sleep } from "./helpers/server.ts";

async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
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

  it("stays ready, saying degraded, while one of two workers is replaced", async (t) => {
    const s = await serve(t, ["--mode", "handoff", "--workers", "2"]);
    const admin = s.listening.admin as number;
    const [victim] = childPids(s.pid);
    assert.ok(victim !== undefined);
    process.kill(victim, "SIGKILL");
    // A replacement takes a fork and a start-up (~100 ms and more): poll through it.
    const seen: { status: number; body: unknown }[] = [];
    const deadline = Date.now() + 10_000;
    const degraded = (r: { body: unknown }) => (r.body as { degraded?: boolean }).degraded;
    while (
      Date.now() < deadline &&
      !(
        seen.some(degraded) &&
        seen.at(-1)?.body !== undefined &&
        !degraded(seen.at(-1) as { body: unknown })
      )
    ) {
      seen.push(await get(admin, "/readyz"));
    }
    assert.ok(
      seen.every((r) => r.status === 200),
      "a crash alone never takes the server out",
    );
    assert.deepEqual(seen.find(degraded)?.body, {
      ready: true,
      degraded: true,
      workers: { ready: 1, of: 2 },
    });
    assert.deepEqual(seen.at(-1)?.body, { ready: true }, "whole again once replaced");
  });

  it("says not ready while no worker is up, and ready again after", async (t) => {
    const s = await serve(t, ["--mode", "handoff", "--workers", "1"]);
    const admin = s.listening.admin as number;
    const [victim] = childPids(s.pid);
    assert.ok(victim !== undefined);
    process.kill(victim, "SIGKILL");
    const seen: { status: number; body: unknown }[] = [];
    const deadline = Date.now() + 10_000;
    while (
      Date.now() < deadline &&
      !(seen.some((r) => r.status === 503) && seen.at(-1)?.status === 200)
    ) {
      seen.push(await get(admin, "/readyz"));
    }
    assert.deepEqual(seen.find((r) => r.status === 503)?.body, {
      ready: false,
      reason: "no worker is ready",
    });
    assert.equal(seen.at(-1)?.status, 200, "200 once the replacement is ready");
  });

  it("says not ready (503) as soon as a drain begins, while /healthz stays 200", async (t) => {
    const s = await serve(t, ["--mode", "handoff", "--workers", "2", "--drain-timeout", "5"]);
    const admin = s.listening.admin as number;
    const held = await open(s.port); // keeps the drain going
    held.on("error", () => {});
    const exited = s.stop("SIGTERM");
    await sleep(200);
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
