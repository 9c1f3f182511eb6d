/**
 * The library API from the sources (issue 15; test/package.test.ts runs the packed one): start()
 * takes every setting by its --print-config name with the flag's checks and codes, binds port 0
 * by default, installs no signal handler, and stops; load() takes the load client's flags.
 */
import assert from "node:assert/strict";
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { USAGE_ERRORS } from "../src/errors.ts";
import { EchoplexError, type StartOptions, start } from "../src/index.ts";
import { LOAD_FLAGS } from "../src/load/flags.ts";
import { load, loadFlags } from "../src/load/index.ts";
import { checkNode, LOWEST_NODE } from "../src/node-version.ts";
import { echoThrough, random } from "./helpers/client.ts";
import { TLS } from "./helpers/tls.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const readPackage = () =>
  JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")) as { engines: { node: string } };

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => assert.fail(`resolved; expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EchoplexError, String(err));
  assert.equal(err.code, code, err.message);
  if (message !== undefined) assert.match(err.message, message);
}

describe("start()", () => {
  it("handoff with 2 workers on ports the system picks: echo, HTTP, UDP, admin; then stop", async () => {
    const signals = process.listenerCount("SIGTERM");
    const s = await start({ mode: "handoff", workers: 2, http: 0, udp: 0, admin: 0 });
    try {
      assert.equal(process.listenerCount("SIGTERM"), signals, "no signal handler installed");
      for (const port of Object.values(s.ports)) assert.ok((port as number) > 0);
      const payload = random(20_000);
      assert.deepEqual(await echoThrough(s.ports.echo, payload), payload);
      const ready = await fetch(`http://127.0.0.1:${s.ports.admin}/readyz`);
      assert.equal(ready.status, 200);
      const r = await load({
        port: s.ports.http as number,
        protocol: "ws",
        duration: 0.3,
        warmup: 0,
      });
      assert.ok(r.messages > 0);
      assert.equal("histogram" in r, false, "the report --json prints");
    } finally {
      await s.stop(2000);
    }
    assert.equal(await s.stop(), undefined, "stop again: the same, settled");
    await s.stopped;
  });

  it("stop() with a drain that is not a number of milliseconds rejects, and the server goes on", async () => {
    const s = await start({ mode: "single" });
    try {
      for (const bad of [-1, Number.NaN, "5" as never, Number.POSITIVE_INFINITY])
        await rejects(s.stop(bad), "ECHOPLEX_BAD_OPTION", /stop\(/);
      const payload = random(100);
      assert.deepEqual(await echoThrough(s.ports.echo, payload), payload);
    } finally {
      await s.stop(0);
    }
  });

  it("defaults that fit inside another program: port 0, no admin port, no HTTP unless asked", async () => {
    const s = await start({ mode: "single" });
    try {
      assert.ok(s.ports.echo > 0);
      assert.deepEqual([s.ports.http, s.ports.udp, s.ports.admin], [null, null, null]);
    } finally {
      await s.stop();
    }
  });

  it("values as a --config file has them: numbers, strings with units, booleans, null for off", async () => {
    const s = await start({
      mode: "single",
      http: 0,
      maxBody: "1KiB",
      cors: true,
      drainTimeout: 1,
      admin: null,
    });
    try {
      const big = await fetch(`http://127.0.0.1:${s.ports.http}/`, {
        method: "POST",
        body: "x".repeat(2000),
      });
      assert.equal(big.status, 413);
      const cors = await fetch(`http://127.0.0.1:${s.ports.http}/`, {
        headers: { origin: "http://a.example" },
      });
      assert.equal(cors.headers.get("access-control-allow-origin"), "http://a.example");
    } finally {
      await s.stop();
    }
  });

  it("a bad option throws ECHOPLEX_BAD_OPTION, saying which option and what is allowed", async () => {
    // What the compiler refuses, as a JavaScript caller would pass it.
    await rejects(start({ port: 70_000 }), "ECHOPLEX_BAD_OPTION", /start\(\{ port \}\)/);
    await rejects(start({ mode: "fast" } as never), "ECHOPLEX_BAD_OPTION", /start\(\{ mode \}\)/);
    await rejects(start({ workers: null } as never), "ECHOPLEX_BAD_OPTION", /cannot be off/);
    await rejects(start({ cors: [] as never }), "ECHOPLEX_BAD_OPTION", /expected a string/);
    await rejects(start({ prot: 1 } as never), "ECHOPLEX_BAD_OPTION", /unknown option 'prot'/);
    await rejects(start(null as never), "ECHOPLEX_BAD_OPTION");
    await rejects(start({ tlsCert: TLS.cert }), "ECHOPLEX_BAD_OPTION", /^start\(\): --tls-cert/);
    await rejects(start({ tlsCert: TLS.cert, tlsKey: TLS.otherKey }), "ECHOPLEX_BAD_TLS");
    await rejects(start({ mode: "single", http: 0, port: "x" } as never), "ECHOPLEX_BAD_OPTION");
  });

  it("the options are typed: the compiler refuses a wrong type or an unknown mode", () => {
    const typed = (o: StartOptions) => o;
    // @ts-expect-error a port is a number
    typed({ port: "x" });
    // @ts-expect-error no such mode
    typed({ mode: "nope" });
    // @ts-expect-error no such option
    typed({ prot: 1 });
    typed({ mode: "handoff", port: 0, http: 0, maxBody: "64KiB", work: "sha256:10", admin: null });
  });

  it("cluster and cluster-shared in one process: the second is refused, not silently the first's", async () => {
    const a = await start({ mode: "cluster", workers: 1 });
    await a.stop();
    await rejects(
      start({ mode: "cluster-shared", workers: 1 }),
      "ECHOPLEX_BAD_OPTION",
      /node:cluster/,
    );
    const b = await start({ mode: "cluster", workers: 1 });
    await b.stop();
  });

  it("an error on a node:cluster worker (an IPC write to one that just died) is logged, not thrown (regression: EPIPE while stopping after a failed start ended the primary)", async (t) => {
    const s = await start({ mode: "cluster", workers: 2 });
    // Failing, the test leaves the workers running: end them, or the file never exits.
    t.after(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
    });
    const workers = Object.values(cluster.workers ?? {});
    assert.equal(workers.length, 2);
    for (const w of workers)
      w?.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    const data = random(256);
    assert.deepEqual(await echoThrough(s.ports.echo, data), data);
    await s.stop();
  });
});

describe("load()", () => {
  it("checks its options with the flags' parsers and codes", async () => {
    await rejects(load({ port: 1, sise: 3 } as never), "ECHOPLEX_BAD_OPTION", /'sise'/);
    await rejects(load({ port: 1, json: true } as never), "ECHOPLEX_BAD_OPTION");
    await rejects(load({ port: 1, connections: 0 }), "ECHOPLEX_BAD_OPTION", /^load\(\)/);
    await rejects(load({ port: 1, churn: true, pipeline: 2 }), "ECHOPLEX_BAD_OPTION");
    await rejects(load({} as never), "ECHOPLEX_BAD_OPTION", /port/);
  });

  it("nothing to load: ECHOPLEX_CONNECT_FAILED", async () => {
    const s = await start({ mode: "single" });
    const port = s.ports.echo;
    await s.stop();
    await rejects(load({ port, duration: 0.2, warmup: 0 }), "ECHOPLEX_CONNECT_FAILED");
  });
});

describe("the lowest Node", () => {
  it("older than 24.11 (Node 24's first LTS) is one ECHOPLEX_UNSUPPORTED_NODE line; 24.11 and later pass", () => {
    for (const old of ["20.20.2", "22.12.0", "23.11.1", "24.0.0", "24.6.0", "24.10.0"])
      assert.throws(
        () => checkNode(old),
        (e: unknown) =>
          e instanceof EchoplexError &&
          e.code === "ECHOPLEX_UNSUPPORTED_NODE" &&
          e.message.includes(old) &&
          !e.message.includes("\n"),
      );
    for (const ok of ["24.11.0", "24.21.0", "25.0.0", "25.2.1", "30.0.0"]) checkNode(ok);
    assert.equal(
      `>=${LOWEST_NODE.replace(/\.0$/, "")}`,
      readPackage().engines.node,
      "engines says it",
    );
  });
});

describe("load(): generated options", () => {
  it("every generated options object is taken, or refused with a usage code (seeded)", () => {
    const names = [...Object.keys(LOAD_FLAGS), "bogus", "Port", "__proto__", "constructor"];
    const value = fc.oneof(
      fc.integer({ min: -2, max: 70_000 }),
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 2 ** 53),
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        "tcp",
        "ws",
        "udp",
        "http",
        "http2",
        "1",
        "0",
        "--port",
        "",
        " 5",
        "2999-01-01",
      ),
      fc.boolean(),
      fc.constantFrom(null, undefined, {}, [], [1]),
    );
    let taken = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 6 }), (o) => {
        const options = { port: 7007, ...o } as never;
        try {
          loadFlags(options);
          taken++;
        } catch (err) {
          assert.ok(err instanceof EchoplexError, String(err));
          assert.ok(USAGE_ERRORS.has(err.code), err.code);
          assert.ok(!err.message.includes("\n"), "one line");
        }
      }),
      { seed: 20261202, numRuns: 2000 },
    );
    assert.ok(taken > 0, "some are taken");
  });
});
