/**
 * In every multi-process mode a worker that dies is replaced, and new connections keep
 * succeeding meanwhile. (handoff's own, stricter cases are in handoff.test.ts.)
 */
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { describe, it } from "node:test";
import { listenError } from "../src/errors.ts";
import { LINES } from "../src/log.ts";
import { echoThrough, open, random, roundTrip } from "./helpers/client.ts";
import { ownerOf } from "./helpers/owners.ts";
import { childPids, logged, serve, waitFor } from "./helpers/server.ts";
import { serveTlsFiles, TLS } from "./helpers/tls.ts";

describe("supervision", () => {
  for (const mode of ["handoff", "cluster", "cluster-shared", "reuseport"]) {
    it(`replaces a worker killed with SIGKILL (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "2"]);
      const [victim] = childPids(server.pid) as [number];
      process.kill(victim, "SIGKILL");
      // Connections made while the worker dies and is replaced. Only handoff promises them all:
      // with reusePort the kernel resets what sat in the dead listener's accept queue, and
      // node:cluster's round robin loses a handle it sent to a dying worker (the client waits
      // forever). So the others are reported, not asserted.
      const during = await Promise.allSettled(
        Array.from({ length: 10 }, () => echoThrough(server.port, random(1000), 1000, 3_000)),
      );
      const lost = during.filter((r) => r.status === "rejected").length;
      if (mode === "handoff")
        assert.equal(lost, 0, "handoff loses no connection to a dying worker");
      else t.diagnostic(`${mode}: ${lost} of 10 connections made as the worker died were lost`);
      await waitFor("a replacement worker", () => {
        const now = childPids(server.pid);
        return now.length === 2 && !now.includes(victim) ? now : undefined;
      });
      for (let i = 0; i < 10; i++) {
        const payload = random(1000);
        assert.deepEqual(await echoThrough(server.port, payload), payload);
      }
    });
  }

  it("a worker sent SIGTERM alone drains its connections, exits and is replaced", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2", "--log-level", "debug"]);
    const socket = await open(server.port);
    t.after(() => socket.destroy());
    await roundTrip(socket, random(10));
    const owner = ownerOf(server.port, socket.localPort as number, childPids(server.pid));
    assert.ok(owner > 0);
    process.kill(owner, "SIGTERM");
    await logged(server, "worker draining: handed nothing new"); // the primary knows
    const payload = random(5000);
    assert.deepEqual(await roundTrip(socket, payload), payload, "still echoes while draining");
    // The draining worker is handed nothing new.
    const fresh = await Promise.all(Array.from({ length: 6 }, () => open(server.port)));
    t.after(() => {
      for (const s of fresh) s.destroy();
    });
    await Promise.all(fresh.map((s) => roundTrip(s, random(10))));
    for (const s of fresh)
      assert.notEqual(ownerOf(server.port, s.localPort as number, [owner]), owner);
    const ended = new Promise<void>((resolve) => socket.once("end", resolve));
    socket.end();
    await ended;
    await waitFor("a replacement worker", () => {
      const now = childPids(server.pid);
      return now.length === 2 && !now.includes(owner) ? now : undefined;
    });
    const again = random(100);
    assert.deepEqual(await echoThrough(server.port, again), again);
    for (const s of fresh) s.destroy(); // before the server's stop, whose drain would wait
  });

  it("replaces a worker that crashed after serving every time: no number of crashes stops the server", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "1"]);
    // More than the crash-loop rule's 5: only replacements that cannot start count there.
    for (let kill = 1; kill <= 6; kill++) {
      const worker = await waitFor(`worker ${kill}`, () => childPids(server.pid)[0]);
      const payload = random(100);
      assert.deepEqual(await echoThrough(server.port, payload), payload, "it served");
      process.kill(worker, "SIGKILL");
      await waitFor("its replacement", () => {
        const now = childPids(server.pid);
        return now.length === 1 && now[0] !== worker ? true : undefined;
      });
    }
    const payload = random(100);
    assert.deepEqual(await echoThrough(server.port, payload, 1000, 20_000), payload);
    assert.equal(server.proc.exitCode, null, "still running");
  });

  it("stops with ECHOPLEX_CRASH_LOOP when replacement workers cannot start (5 within 60 s)", async (t) => {
    const { server, cert } = await serveTlsFiles(t, ["--workers", "1"]);
    const exited = new Promise<number | null>((resolve) => server.proc.once("exit", resolve));
    let stderr = "";
    server.proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    // The certificate goes bad on disk: every replacement fails to load it and exits.
    copyFileSync(TLS.readme, cert);
    const [worker] = childPids(server.pid) as [number];
    process.kill(worker, "SIGKILL");
    assert.equal(await exited, 1);
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0] ?? "",
      /^echoplex: replacement workers failed to start 5 times within 60 s; .*\[ECHOPLEX_CRASH_LOOP\]$/,
    );
  });

  it("SIGINT drains and exits 0 like SIGTERM", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2", "--log-level", "info"]);
    assert.deepEqual(await server.stop("SIGINT"), { code: 0, signal: null });
    assert.ok(server.lines.some((l) => l.msg === LINES.stopped));
  });
});

describe("listen errors", () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  for (const [errno, code] of [
    ["EADDRINUSE", "ECHOPLEX_PORT_IN_USE"],
    ["EACCES", "ECHOPLEX_PERMISSION_DENIED"],
    ["EADDRNOTAVAIL", "ECHOPLEX_BAD_ADDRESS"],
  ] as const) {
    it(`maps ${errno} to ${code}`, () => {
      assert.equal((listenError(err(errno), "127.0.0.1", 80) as { code?: string }).code, code);
    });
  }
  it("passes any other error through", () => {
    const other = err("EIO");
    assert.equal(listenError(other, "127.0.0.1", 80), other);
  });
});
