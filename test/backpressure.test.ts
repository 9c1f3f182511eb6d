/**
 * Backpressure: a client that writes and never reads must not grow the server's memory: once the
 * client's receive window is full, the server stops reading, and TCP pushes back on the client.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { open, random, roundTrip } from "./helpers/client.ts";
import { childPids, serve, sleep } from "./helpers/server.ts";

function rssBytes(pid: number): number {
  let total = 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    total += Number(match?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
  for (const child of childPids(pid)) total += rssBytes(child);
  return total;
}

const MiB = 1024 * 1024;

describe("backpressure", () => {
  for (const mode of ["single", "handoff"]) {
    it(`a client that sends 256 MiB and never reads costs the server little memory (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "1"]);
      // Warm up so that the baseline includes the echo path's own allocations.
      const warm = await open(server.port);
      await roundTrip(warm, random(4 * MiB), 10_000);
      warm.destroy();
      await sleep(200);
      const before = rssBytes(server.pid);

      const hostile = await open(server.port);
      t.after(() => hostile.destroy());
      hostile.on("error", () => {});
      hostile.pause(); // never read
      const chunk = random(MiB);
      // Ignore our own backpressure: everything beyond the kernel buffers piles up here, in the
      // client, not in the server.
      for (let i = 0; i < 256; i++) hostile.write(chunk);
      await sleep(1_500);
      const grown = rssBytes(server.pid) - before;
      assert.ok(grown < 48 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB`);
      assert.ok(
        hostile.writableLength > 128 * MiB,
        "the server pushed back: most of it is still queued in the client",
      );
      hostile.destroy();
    });
  }

  for (const mode of ["single", "handoff"]) {
    it(`an HTTP client that pipelines 128 MiB of requests and never reads costs little memory (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "1", "--http", "0"]);
      const http = server.listening.http as number;
      const request = Buffer.from(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n${"a".repeat(4000)}`,
      );
      const warm = await open(http);
      warm.write(Buffer.concat(Array.from({ length: 500 }, () => request)));
      await sleep(500);
      warm.destroy();
      await sleep(200);
      const before = rssBytes(server.pid);

      const hostile = await open(http);
      t.after(() => hostile.destroy());
      hostile.on("error", () => {});
      hostile.pause(); // never read a response
      const batch = Buffer.concat(Array.from({ length: 256 }, () => request)); // ~1 MiB
      for (let i = 0; i < 128; i++) hostile.write(batch);
      await sleep(1_500);
      const grown = rssBytes(server.pid) - before;
      assert.ok(grown < 48 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB`);
      assert.ok(
        hostile.writableLength > 64 * MiB,
        "node:http stopped reading once responses backed up: most requests wait in the client",
      );
    });
  }

  it("an HTTP client that uploads 256 MiB and never reads the echo costs little memory", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", "--max-body", "1GiB"]);
    const http = server.listening.http as number;
    const warm = await open(http);
    warm.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
    warm.write(random(4 * MiB));
    await sleep(500);
    warm.destroy();
    await sleep(200);
    const before = rssBytes(server.pid);

    const hostile = await open(http);
    t.after(() => hostile.destroy());
    hostile.on("error", () => {});
    hostile.pause(); // never read the echo
    hostile.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${256 * MiB}\r\n\r\n`);
    const chunk = random(MiB);
    for (let i = 0; i < 256; i++) hostile.write(chunk);
    await sleep(1_500);
    const grown = rssBytes(server.pid) - before;
    assert.ok(grown < 48 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(
      hostile.writableLength > 128 * MiB,
      "the echo streams with backpressure: most of the body is still queued in the client",
    );
  });

  it("a WebSocket client that sends 128 MiB and never reads costs little memory", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const url = `ws://127.0.0.1:${server.listening.http}/ws`;
    const warm = new WebSocket(url);
    await once(warm, "open");
    for (let i = 0; i < 20; i++) warm.send(random(256 * 1024));
    await sleep(500);
    warm.terminate();
    await sleep(200);
    const before = rssBytes(server.pid);

    const hostile = new WebSocket(url);
    await once(hostile, "open");
    t.after(() => hostile.terminate());
    hostile.on("error", () => {});
    hostile.pause(); // never read an echo
    const message = random(512 * 1024);
    for (let i = 0; i < 256; i++) hostile.send(message);
    await sleep(1_500);
    const grown = rssBytes(server.pid) - before;
    assert.ok(grown < 48 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(
      hostile.bufferedAmount > 64 * MiB,
      "the server stopped reading: most messages wait in the client",
    );
  });
});
