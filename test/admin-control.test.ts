/**
 * Readiness you can flip and faults you can change at run time (issue 25, part 6): POSTs to the
 * admin port with --admin-token; without one, nothing there changes the server.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import fc from "fast-check";
import { type Echoplex, EchoplexError, type StartOptions, start } from "../src/index.ts";
import { LINES } from "../src/log.ts";
import { HOST } from "./helpers/client.ts";
import { once } from "./helpers/http.ts";
import { childPids, serve, waitFor } from "./helpers/server.ts";

const TOKEN = "test-token-0123456789";
const BEARER = { authorization: `Bearer ${TOKEN}` };

async function server(t: TestContext, o: StartOptions): Promise<Echoplex> {
  const s = await start({ mode: "single", admin: 0, http: 0, ...o });
  t.after(() => s.stop(2000));
  return s;
}

async function admin(
  port: number,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`http://${HOST}:${port}${path}`, init);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  };
}

/** The statuses of `n` POSTs to the HTTP echo, each on a connection of its own. */
async function statuses(port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    out.push((await once(port, { method: "POST", body: Buffer.from("hi") })).status);
  return out;
}

describe("admin POSTs", () => {
  it("without --admin-token nothing changes the server: 403, and /readyz stays 200", async (t) => {
    const s = await server(t, {});
    const port = s.ports.admin as number;
    for (const path of ["/readyz/disable", "/faults"]) {
      const r = await admin(port, path, { method: "POST", body: "status=503", headers: BEARER });
      assert.equal(r.status, 403, path);
      assert.match(String(r.body.error), /--admin-token/);
    }
    assert.equal((await admin(port, "/readyz")).status, 200);
    assert.deepEqual((await admin(port, "/faults")).body, { faults: null });
    assert.deepEqual(await statuses(s.ports.http as number, 2), [200, 200]);
  });

  it("--admin-token: 401 without it or with another; with it /readyz 503 until enable, echo going on", async (t) => {
    const s = await server(t, { adminToken: TOKEN });
    const port = s.ports.admin as number;
    const disable = (headers: Record<string, string>) =>
      admin(port, "/readyz/disable", { method: "POST", headers });
    for (const headers of [
      {},
      { authorization: "Bearer test-token-0123456780" },
      { authorization: TOKEN },
    ]) {
      const r = await disable(headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="echoplex"');
    }
    assert.equal((await admin(port, "/readyz")).status, 200, "a refused POST changed nothing");
    assert.deepEqual((await disable(BEARER)).body, { disabled: true });
    assert.deepEqual(await admin(port, "/readyz"), {
      status: 503,
      body: { ready: false, reason: "disabled by POST /readyz/disable" },
      headers: (await admin(port, "/readyz")).headers,
    });
    const metrics = await (await fetch(`http://${HOST}:${port}/metrics`)).text();
    assert.match(metrics, /^echoplex_ready 0$/m);
    assert.deepEqual(await statuses(s.ports.http as number, 2), [200, 200], "echo goes on");
    assert.equal(
      (await admin(port, "/readyz/enable", { method: "POST", headers: BEARER })).status,
      200,
    );
    assert.deepEqual((await admin(port, "/readyz")).body, { ready: true });
    assert.equal((await admin(port, "/readyz/enable")).status, 405, "GET does nothing");
  });

  it("a token is 16 to 256 printable characters, and a bad one is not echoed back", async () => {
    const err = await start({ adminToken: "short secret" }).then(
      (s) => s.stop().then(() => assert.fail("started")),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EchoplexError && err.code === "ECHOPLEX_BAD_OPTION", String(err));
    assert.doesNotMatch(err.message, /short secret/);
  });

  it("POST /faults in handoff: every worker answers with them, a bad one is a 400 that changes nothing", async (t) => {
    const s = await server(t, { mode: "handoff", workers: 2, adminToken: TOKEN, maxDelay: 1 });
    const port = s.ports.admin as number;
    const http = s.ports.http as number;
    const post = (body: string) =>
      admin(port, "/faults", { method: "POST", body, headers: BEARER });
    assert.deepEqual((await post("status=503")).body, { faults: "status=503" });
    assert.deepEqual(await statuses(http, 6), [503, 503, 503, 503, 503, 503], "both workers");
    const bad = await post("delay=2s");
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /delay: '2s' is not a duration from 0 to 1000 ms/);
    assert.equal((await post("x".repeat(5000))).status, 413);
    assert.deepEqual((await admin(port, "/faults")).body, { faults: "status=503" }, "unchanged");
    assert.deepEqual((await post("off")).body, { faults: null });
    assert.deepEqual(await statuses(http, 4), [200, 200, 200, 200]);
  });

  it(`generated bodies and headers: each answered 200, 400, 401 or 413, never a crash`, async (t) => {
    const s = await server(t, { adminToken: TOKEN, maxDelay: 1 });
    const port = s.ports.admin as number;
    const key = fc.constantFrom("status", "delay", "close", "reset", "drop", "");
    const value = fc.oneof(
      fc.constantFrom("503", "503:10,429:5", "200ms:5", "1.5s", "true", "101", "099"),
      fc.string(),
    );
    const body = fc.oneof(
      fc
        .array(
          fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
          { maxLength: 4 },
        )
        .map((p) => p.join(",")),
      fc.constantFrom("off", "", "x".repeat(4097)),
      fc.string({ maxLength: 64 }),
    );
    const auth = fc.constantFrom(
      `Bearer ${TOKEN}`,
      `bearer ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      "Bearer",
      "",
      `Basic ${TOKEN}`,
    );
    await fc.assert(
      fc.asyncProperty(body, auth, async (b, a) => {
        const r = await admin(port, "/faults", {
          method: "POST",
          body: b,
          headers: a === "" ? {} : { authorization: a },
        });
        assert.ok(
          [200, 400, 401, 413].includes(r.status),
          `${r.status} for ${JSON.stringify([b, a])}`,
        );
      }),
      { seed: 20261206, numRuns: 150 },
    );
    assert.equal((await admin(port, "/healthz")).status, 200);
  });

  it("workers that start later get the faults set: a rolling restart's successors and a crashed one's replacement", async (t) => {
    const s = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--http", "0", "--log-level", "info"],
      ...["--admin-token", TOKEN],
    ]);
    const port = s.listening.admin as number;
    const http = s.listening.http as number;
    await admin(port, "/faults", { method: "POST", body: "status=418", headers: BEARER });
    const before = childPids(s.pid);
    process.kill(s.pid, "SIGHUP");
    await waitFor(
      "the rolling restart",
      () => (s.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined),
      30_000,
    );
    assert.deepEqual(await statuses(http, 4), [418, 418, 418, 418]);
    // Kill a successor, not a predecessor still draining (that one is not replaced).
    const [victim] = await waitFor("the old workers to exit", () => {
      const now = childPids(s.pid);
      return now.length === 2 && !now.some((p) => before.includes(p)) ? now : undefined;
    });
    process.kill(victim as number, "SIGKILL");
    await waitFor(
      "a replacement",
      () => (s.lines.some((l) => l.msg === LINES.workerReplaced) ? true : undefined),
      30_000,
    );
    await waitFor("both workers ready", async () =>
      (await admin(port, "/readyz")).body.degraded === undefined ? true : undefined,
    );
    assert.deepEqual(await statuses(http, 4), [418, 418, 418, 418]);
  });
});
