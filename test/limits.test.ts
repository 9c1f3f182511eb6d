/** --max-connections and --idle-timeout: the limits that keep a server alive under hostile clients. */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { LINES } from "../src/log.ts";
import { HOST, open, random, roundTrip } from "./helpers/client.ts";
import { type RunningServer, serve, sleep, within } from "./helpers/server.ts";

/** Open a connection and prove it is served (one echo); resolves false if it is closed instead. */
async function served(port: number): Promise<Socket | false> {
  // Refused at once: the reset can come before or after the connect completes.
  const socket = await open(port).catch(() => undefined);
  if (socket === undefined) return false;
  socket.on("error", () => {});
  // (events.once would reject on the reset's 'error'; a refused connection is just closed.)
  const closed = new Promise<false>((resolve) => socket.once("close", () => resolve(false)));
  const echoed = roundTrip(socket, random(16), 5_000).then(
    () => socket,
    () => false as const,
  );
  return Promise.race([echoed, closed]);
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
  return within(closed, ms, () => false);
}

async function stopped(server: RunningServer): Promise<{ served: number; refused: number }> {
  await server.stop();
  await server.closed;
  const lines = server.lines.filter((l) => l.msg === LINES.workerStopped);
  return {
    served: lines.reduce((n, l) => n + Number(l.served), 0),
    refused: lines.reduce((n, l) => n + Number(l.refused), 0),
  };
}

describe("--max-connections", () => {
  for (const [mode, workers, cap] of [
    ["single", 1, 3],
    ["handoff", 2, 4],
  ] as const) {
    it(`closes connections beyond the cap at once and counts them (${mode})`, async (t) => {
      const server = await serve(t, [
        ...["--mode", mode, "--workers", String(workers), "--log-level", "info"],
        ...["--max-connections", String(cap)],
      ]);
      const held: Socket[] = [];
      for (let i = 0; i < cap; i++) {
        const s = await served(server.port);
        assert.ok(s, `connection ${i + 1} of ${cap} is served`);
        held.push(s);
      }
      assert.equal(await served(server.port), false, "one more is closed at once");
      held.pop()?.destroy();
      await sleep(300); // the worker notices the close (and the primary its load report)
      const again = await served(server.port);
      assert.ok(again, "below the cap again, a new connection is served");
      again.destroy();
      for (const s of held) s.destroy();
      const counts = await stopped(server);
      assert.equal(counts.refused, 1);
      assert.equal(counts.served, cap + 1);
    });
  }

  it("counts HTTP connections against the same cap", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", "--max-connections", "1"]);
    const http = server.listening.http as number;
    const keepAlive = await open(http);
    keepAlive.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(keepAlive, "data");
    const second = await open(http);
    second.on("error", () => {});
    assert.equal(await closedWithin(second, 2_000), true, "the second connection is closed");
    keepAlive.destroy();
  });
});

describe("--idle-timeout", () => {
  it("closes silent TCP, HTTP keep-alive and WebSocket connections, and keeps busy ones", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", "--idle-timeout", "0.5"]);
    const http = server.listening.http as number;
    const idle = await open(server.port);
    idle.on("error", () => {});
    const busy = await open(server.port);
    const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
    await once(ws, "open");
    const wsClosed = once(ws, "close");
    const keepAlive = await open(http);
    keepAlive.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(keepAlive, "data");

    // Keep one connection busy for 1.5 s: a message every 100 ms.
    for (let i = 0; i < 15; i++) {
      await roundTrip(busy, random(8), 2_000);
      await sleep(100);
    }
    assert.equal(
      idle.destroyed || (await closedWithin(idle, 1_000)),
      true,
      "the silent one is closed",
    );
    assert.equal(await closedWithin(keepAlive, 1_000), true, "the idle keep-alive one too");
    assert.notEqual(
      await within(wsClosed, 1_000, () => "open"),
      "open",
      "the idle WebSocket stays open",
    );
    assert.equal(busy.destroyed, false, "the busy one stays open");
    busy.destroy();
  });
});
