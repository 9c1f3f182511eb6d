/**
 * SIGTERM in every mode: stop accepting, let open connections finish echoing for up to
 * --drain-timeout seconds, then close what is left and exit 0.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { WebSocket } from "ws";
import { MODES } from "../src/main/config/config.ts";
import { HOST, open, random, refused, roundTrip } from "./helpers/client.ts";
import { logged, serve, sleep } from "./helpers/server.ts";

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

/** A server that the test stops itself; stopped (or killed) at the end should the test fail first. */
function startMode(t: TestContext, mode: string, drainTimeout: number) {
  const args = ["--mode", mode, "--workers", "2", "--log-level", "info"];
  return serve(t, [...args, "--drain-timeout", String(drainTimeout)]);
}

describe("drain", () => {
  for (const mode of MODES) {
    it(`SIGTERM stops accepting and lets open connections finish (${mode})`, async (t) => {
      const server = await startMode(t, mode, 20);
      const socket = await open(server.port);
      await roundTrip(socket, random(100));
      const exit = server.stop("SIGTERM");
      await refused(server.port);
      // The open connection still echoes, and the server finishes when the client does.
      const payload = random(200_000);
      assert.deepEqual(await roundTrip(socket, payload), payload);
      const ended = new Promise<void>((resolve) => socket.once("end", resolve));
      socket.end();
      await ended;
      const started = Date.now();
      assert.deepEqual(await exit, { code: 0, signal: null });
      assert.ok(
        Date.now() - started < 10_000,
        "exits once the last connection is done, not at the timeout",
      );
    });

    it(`closes connections still open after --drain-timeout, then exits 0 (${mode})`, async (t) => {
      const server = await startMode(t, mode, 1);
      const socket = await open(server.port);
      socket.on("error", () => {});
      await roundTrip(socket, random(10));
      const exit = server.stop("SIGTERM");
      await closed(socket);
      assert.deepEqual(await exit, { code: 0, signal: null });
    });
  }

  it("--drain-delay: /readyz 503 at once, yet new connections are served until the delay ends", async (t) => {
    const server = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--log-level", "info"],
      ...["--drain-delay", "1.5", "--drain-timeout", "5"],
    ]);
    const exit = server.stop("SIGTERM");
    await logged(server, "draining");
    const ready = await fetch(`http://${HOST}:${server.listening.admin}/readyz`);
    assert.equal(ready.status, 503, "out of the pool at once");
    const late = await open(server.port);
    const payload = random(1000);
    assert.deepEqual(await roundTrip(late, payload), payload, "still accepting and echoing");
    late.end();
    await refused(server.port, 10_000);
    assert.deepEqual(await exit, { code: 0, signal: null });
  });

  it("a second SIGINT exits at once with 1, without waiting for the drain", async (t) => {
    const server = await startMode(t, "handoff", 2);
    const socket = await open(server.port);
    socket.on("error", () => {});
    await roundTrip(socket, random(10));
    const exit = server.stop("SIGINT");
    await logged(server, "draining"); // two signals sent at once can arrive as one
    const started = Date.now();
    server.proc.kill("SIGINT");
    assert.deepEqual(await exit, { code: 1, signal: null });
    assert.ok(Date.now() - started < 1_000, "did not wait for the drain");
    socket.destroy();
  });

  it("a second SIGTERM (Kubernetes after a preStop hook) leaves the drain alone", async (t) => {
    const server = await startMode(t, "handoff", 2);
    const socket = await open(server.port);
    socket.on("error", () => {});
    await roundTrip(socket, random(10));
    const exit = server.stop("SIGTERM");
    await logged(server, "draining"); // two signals sent at once can arrive as one
    server.proc.kill("SIGTERM");
    await sleep(300); // time for a wrong exit to happen: there is no event for "ignored"
    const payload = random(1000);
    assert.deepEqual(await roundTrip(socket, payload), payload, "still draining, still echoing");
    socket.end();
    assert.deepEqual(await exit, { code: 0, signal: null });
  });

  for (const mode of ["single", "handoff"]) {
    it(`tells HTTP keep-alive and WebSocket clients to go, and exits before the timeout (${mode})`, async (t) => {
      const server = await serve(t, [
        ...["--mode", mode, "--workers", "2", "--log-level", "warn"],
        ...["--http", "0", "--drain-timeout", "20"],
      ]);
      const http = server.listening.http as number;
      const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
      await once(ws, "open");
      const wsClosed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      // A keep-alive connection, idle after one exchange.
      const idle = await open(http);
      idle.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await once(idle, "data");
      const idleClosed = closed(idle);
      // And one the HTTP fast path answered (a small POST): it has its own idle connections.
      const fast = await open(http);
      fast.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
      assert.match(String(await once(fast, "data")), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhi$/);
      const fastClosed = closed(fast).then(() => Date.now());

      const t0 = Date.now();
      const exited = server.stop("SIGTERM");
      assert.equal(await wsClosed, 1001, "WebSocket clients get 1001 (going away)");
      await idleClosed;
      // At the drain, not at node:http's 5 s keep-alive timeout (it takes some ms: bound 2.5 s).
      assert.ok((await fastClosed) - t0 < 2_500, "the fast path closed its idle connection");
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 10_000, "nothing held it to the 20 s drain timeout");
    });
  }
});
