/**
 * Memory under hostile and idle clients (docs/RELIABILITY.md): a client that sends 1 GiB and
 * never reads, and 10,000 idle connections. Server memory is the resident set of the primary
 * and its workers, read from /proc.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { HOST, open } from "../helpers/client.ts";
import { MiB, treeRss } from "../helpers/memory.ts";
import { serve, settled, sleep } from "../helpers/server.ts";

/** p99 of `rounds` 64-byte round trips on each of `sockets`, in microseconds. */
async function p99Micros(sockets: readonly Socket[], rounds: number): Promise<number> {
  const payload = Buffer.alloc(64, 7);
  const samples: number[] = [];
  await Promise.all(
    sockets.map(async (socket) => {
      for (let i = 0; i < rounds; i++) {
        const t0 = process.hrtime.bigint();
        await new Promise<void>((resolve) => {
          let got = 0;
          const onData = (d: Buffer): void => {
            got += d.length;
            if (got < payload.length) return;
            socket.off("data", onData);
            resolve();
          };
          socket.on("data", onData);
          socket.write(payload);
        });
        samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }),
  );
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length * 0.99)] as number;
}

/** A client that writes 1 GiB as fast as the server takes it and never reads. */
function hog(port: number): { socket: Socket; written: () => number } {
  const socket = connect({ host: HOST, port });
  const chunk = Buffer.alloc(MiB, 1);
  let written = 0;
  const more = (): void => {
    while (written < 1024 * MiB) {
      written += chunk.length;
      if (!socket.write(chunk)) return;
    }
  };
  socket.on("connect", more);
  socket.on("drain", more);
  socket.on("error", () => {});
  // Node's own buffer holds at most one chunk beyond what the kernel took: count what left.
  return { socket, written: () => written - socket.writableLength };
}

/**
 * The same client on the HTTP port: 64 KiB POSTs, pipelined back to back, responses never read;
 * or, after the handshake, 64 KiB WebSocket messages (masked with a zero key, so the payload goes
 * as is), never reading the echoes.
 */
function protocolHog(
  port: number,
  protocol: "http" | "websocket",
): { socket: Socket; written: () => number } {
  const socket = connect({ host: HOST, port });
  const body = Buffer.alloc(65_535, 1);
  const unit =
    protocol === "http"
      ? Buffer.concat([
          Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
          body,
        ])
      : Buffer.concat([Buffer.from([0x82, 0xfe, 0xff, 0xff, 0, 0, 0, 0]), body]);
  let written = 0;
  const more = (): void => {
    while (written < 1024 * MiB) {
      written += unit.length;
      if (!socket.write(unit)) return;
    }
  };
  socket.on("error", () => {});
  socket.on("drain", more);
  socket.on("connect", () => {
    if (protocol === "http") return more();
    socket.write(
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    // Read the 101, then never again.
    socket.once("data", () => {
      socket.pause();
      more();
    });
  });
  return { socket, written: () => written - socket.writableLength };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

describe("faults: memory", () => {
  it("a client sending 1 GiB and never reading: < 64 MiB growth, others' p99 reported", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2", "--admin", "off"]);
    const others = await Promise.all(Array.from({ length: 8 }, () => open(server.port)));
    t.after(() => {
      for (const s of others) s.destroy();
    });
    for (const s of others) s.setNoDelay(true);
    await p99Micros(others, 200); // warm up
    const base = treeRss(server.pid);
    // Interleaved: undisturbed, then with a hog, three times; medians of the p99s.
    const calm: number[] = [];
    const hogged: number[] = [];
    let peak = 0;
    let pushed = 0;
    for (let round = 0; round < 3; round++) {
      await sleep(500); // the time a hog takes to settle: a pause alone changes a p99 on loopback
      calm.push(await p99Micros(others, 300));
      const h = hog(server.port);
      await settled("the hog's writes", h.written); // the server has stopped reading it
      hogged.push(await p99Micros(others, 300));
      peak = Math.max(peak, treeRss(server.pid));
      pushed = Math.max(pushed, h.written());
      h.socket.destroy();
    }
    const growth = peak - base;
    t.diagnostic(
      `server RSS ${(base / MiB).toFixed(1)} MiB -> peak ${(peak / MiB).toFixed(1)} MiB ` +
        `(+${(growth / MiB).toFixed(1)} MiB) while a client pushed ${(pushed / MiB).toFixed(1)} MiB ` +
        `of its 1 GiB and never read; others' p99 ${median(calm).toFixed(0)} us calm vs ` +
        `${median(hogged).toFixed(0)} us hogged (p99s ${calm.map((x) => x.toFixed(0))} / ` +
        `${hogged.map((x) => x.toFixed(0))})`,
    );
    assert.ok(growth < 64 * MiB, `server grew by ${(growth / MiB).toFixed(1)} MiB`);
    // Measured 1.1x (docs/RELIABILITY.md): the figure is reported; the bound is 10x.
    assert.ok(
      median(hogged) <= 10 * median(calm),
      `p99 ${median(hogged)} us with the hog vs ${median(calm)} us without`,
    );
  });

  it("an HTTP or WebSocket client sending 1 GiB and never reading: < 64 MiB growth", async (t) => {
    const server = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--admin", "off", "--http", "0"],
      ...["--max-message", "1MiB"],
    ]);
    const http = server.listening.http as number;
    // Warm both protocols up, so the base includes their code, not just the TCP echo's.
    for (const protocol of ["http", "websocket"] as const) {
      const warm = protocolHog(http, protocol);
      await sleep(300);
      warm.socket.destroy();
    }
    await sleep(500);
    const base = treeRss(server.pid);
    const figures: string[] = [];
    let peak = base;
    for (const protocol of ["http", "websocket"] as const) {
      const hog = protocolHog(http, protocol);
      const pushed = await settled(`the ${protocol} hog's writes`, hog.written);
      const rss = treeRss(server.pid);
      peak = Math.max(peak, rss);
      figures.push(
        `${protocol}: the client pushed ${(pushed / MiB).toFixed(1)} MiB, server RSS +${((rss - base) / MiB).toFixed(1)} MiB`,
      );
      hog.socket.destroy();
      await sleep(300);
    }
    t.diagnostic(`base ${(base / MiB).toFixed(1)} MiB; ${figures.join("; ")}`);
    assert.ok(peak - base < 64 * MiB, figures.join("; "));
    // Still serving.
    const res = await fetch(`http://${HOST}:${http}/`, { method: "POST", body: "ok" });
    assert.equal(await res.text(), "ok");
  });

  it("one connection pipelining 20,000 delayed requests, never reading: < 32 MiB growth", async (t) => {
    const server = await serve(t, ["--mode", "single", "--admin", "off", "--http", "0"]);
    const http = server.listening.http as number;
    // Warm node:http's path and response control up, so the base includes their code.
    await fetch(`http://${HOST}:${http}/?echo_delay=1`);
    await sleep(300);
    const base = treeRss(server.pid);
    const socket = connect({ host: HOST, port: http });
    socket.pause(); // never read
    socket.on("error", () => {});
    t.after(() => socket.destroy());
    // One write of ~880 KB: node:http would parse and hold every request in it.
    socket.write("GET /?echo_delay=60000 HTTP/1.1\r\nHost: a\r\n\r\n".repeat(20_000));
    await settled("the server's memory", () => Math.round(treeRss(server.pid) / MiB), 500);
    const grown = treeRss(server.pid) - base;
    t.diagnostic(
      `server RSS +${(grown / MiB).toFixed(1)} MiB for 20,000 pipelined delayed requests`,
    );
    assert.ok(grown < 32 * MiB, `grew ${(grown / MiB).toFixed(1)} MiB`);
    const res = await fetch(`http://${HOST}:${http}/`, { method: "POST", body: "ok" });
    assert.equal(await res.text(), "ok", "still serving others");
  });

  it("10,000 idle connections: memory per connection", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2", "--admin", "off"]);
    const probe = await open(server.port);
    probe.destroy();
    await sleep(300);
    const before = treeRss(server.pid);
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const COUNT = 10_000;
    for (let i = 0; i < COUNT; i += 500) {
      sockets.push(...(await Promise.all(Array.from({ length: 500 }, () => open(server.port)))));
    }
    // Every connection reached a worker: one byte echoed on the last of them.
    const last = sockets.at(-1) as Socket;
    await new Promise<void>((resolve) => {
      last.once("data", () => resolve());
      last.write("x");
    });
    await sleep(1_000);
    const after = treeRss(server.pid);
    const per = (after - before) / COUNT;
    t.diagnostic(
      `server RSS ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB for ` +
        `${COUNT} idle connections: ${(per / 1024).toFixed(2)} KiB per connection`,
    );
    assert.equal(sockets.filter((s) => s.destroyed).length, 0, "every connection stays open");
    // A sanity bound, not a benchmark: a few KiB each; 64 KiB would mean a buffer per socket.
    assert.ok(per < 16 * 1024, `${per} bytes per connection`);
    for (const s of sockets) s.destroy(); // before the server's stop, whose drain would wait
  });
});
