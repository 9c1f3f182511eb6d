/**
 * Backpressure: a client that writes and never reads must not grow the server's memory: once the
 * client's receive window is full, the server stops reading, and TCP pushes back on the client.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { open, random, roundTrip } from "./helpers/client.ts";
import { MiB, treeRss } from "./helpers/memory.ts";
import { serve, settled, sleep } from "./helpers/server.ts";

/** A client that writes and never reads: how much it still holds unsent. */
interface Hostile {
  queued(): number;
  close(): void;
}

/**
 * Warm the server up (so the baseline includes the path's own allocations), let `attack` write
 * `total` bytes without ever reading, and check that the server grew by less than 48 MiB while
 * at least half of it still waits in the client: TCP pushed back.
 */
async function assertPushedBack(
  pid: number,
  warm: () => Promise<void>,
  attack: () => Promise<Hostile>,
  total: number,
): Promise<void> {
  await warm();
  await sleep(200);
  const before = treeRss(pid);
  const hostile = await attack();
  try {
    // Once the client's queue stops shrinking, the server has stopped reading: it holds what it
    // will ever hold.
    await settled("the client's queue", () => hostile.queued());
    const grown = treeRss(pid) - before;
    assert.ok(grown < 48 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(
      hostile.queued() > total / 2,
      `the server pushed back: ${(hostile.queued() / MiB).toFixed(0)} MiB still queued in the client`,
    );
  } finally {
    hostile.close(); // before the server stops: a drain would wait for it
  }
}

/** A TCP client that writes `data` `times` times, ignoring its own backpressure, never reading. */
async function flood(port: number, times: number, data: Buffer, first?: string): Promise<Hostile> {
  const socket = await open(port);
  socket.on("error", () => {});
  socket.pause(); // never read
  if (first !== undefined) socket.write(first);
  // Everything beyond the kernel buffers piles up here, in the client, not in the server.
  for (let i = 0; i < times; i++) socket.write(data);
  return { queued: () => socket.writableLength, close: () => socket.destroy() };
}

describe("backpressure", () => {
  for (const mode of ["single", "handoff"]) {
    it(`a client that sends 256 MiB and never reads costs the server little memory (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "1"]);
      const warm = async () => {
        const socket = await open(server.port);
        await roundTrip(socket, random(4 * MiB), 10_000);
        socket.destroy();
      };
      await assertPushedBack(
        server.pid,
        warm,
        () => flood(server.port, 256, random(MiB)),
        256 * MiB,
      );
    });
  }

  for (const mode of ["single", "handoff"]) {
    it(`an HTTP client that pipelines 128 MiB of requests and never reads costs little memory (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "1", "--http", "0"]);
      const http = server.listening.http as number;
      const request = Buffer.from(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n${"a".repeat(4000)}`,
      );
      const batch = Buffer.concat(Array.from({ length: 256 }, () => request)); // ~1 MiB
      const warm = async () => {
        const socket = await open(http);
        socket.write(batch);
        await sleep(500);
        socket.destroy();
      };
      await assertPushedBack(server.pid, warm, () => flood(http, 128, batch), 128 * MiB);
    });
  }

  it("an HTTP client that uploads 256 MiB and never reads the echo costs little memory", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", "--max-body", "1GiB"]);
    const http = server.listening.http as number;
    const head = (size: number) => `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`;
    const warm = async () => {
      const socket = await open(http);
      socket.write(head(4 * MiB));
      socket.write(random(4 * MiB));
      await sleep(500);
      socket.destroy();
    };
    const upload = () => flood(http, 256, random(MiB), head(256 * MiB));
    await assertPushedBack(server.pid, warm, upload, 256 * MiB);
  });

  it("a WebSocket client that sends 128 MiB and never reads costs little memory", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const url = `ws://127.0.0.1:${server.listening.http}/ws`;
    const warm = async () => {
      const ws = new WebSocket(url);
      await once(ws, "open");
      for (let i = 0; i < 20; i++) ws.send(random(256 * 1024));
      await sleep(500);
      ws.terminate();
    };
    const attack = async (): Promise<Hostile> => {
      const ws = new WebSocket(url);
      await once(ws, "open");
      ws.on("error", () => {});
      ws.pause(); // never read an echo
      const message = random(512 * 1024);
      for (let i = 0; i < 256; i++) ws.send(message);
      return { queued: () => ws.bufferedAmount, close: () => ws.terminate() };
    };
    await assertPushedBack(server.pid, warm, attack, 128 * MiB);
  });
});
