/** UDP echo (RFC 862) with node:dgram: echo, anti-reflection, per-source rate limit. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { describe, it } from "node:test";
import { LINES } from "../src/log.ts";
import type { UdpCounts } from "../src/messages.ts";
import { trustOf } from "../src/proxy-trust.ts";
import { dropReason, type Guards, MAX_IN_FLIGHT, MAX_SEND_QUEUE } from "../src/worker/udp/echo.ts";
import { LoopGuard } from "../src/worker/udp/loop-guard.ts";
import { SourceLimiter } from "../src/worker/udp/rate-limit.ts";
import { HOST, open } from "./helpers/client.ts";
import { serve, sleep } from "./helpers/server.ts";

async function client(port = 0): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, HOST, () => resolve());
  });
  return socket;
}

/** Send each datagram, then collect replies for `ms`, or until `enough` have come back. */
async function roundTrip(
  socket: Socket,
  port: number,
  datagrams: Buffer[],
  ms = 500,
  enough = Number.POSITIVE_INFINITY,
) {
  const replies: Buffer[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  socket.on("message", (m: Buffer) => {
    replies.push(m);
    if (replies.length >= enough) done();
  });
  for (const d of datagrams) socket.send(d, port, HOST);
  const timer = setTimeout(done, ms);
  await finished;
  clearTimeout(timer);
  return replies;
}

describe("udp echo", () => {
  it("sends each datagram back to its sender, byte-exact", async (t) => {
    const s = await serve(t, ["--mode", "single", "--udp", "0"]);
    const port = s.listening.udp as number;
    assert.ok(port > 0);
    const c = await client();
    t.after(() => c.close());
    const sent = [randomBytes(1), randomBytes(512), randomBytes(8192)];
    const got = await roundTrip(c, port, sent, 5_000, sent.length);
    assert.deepEqual(
      got.map((b) => b.toString("hex")).sort(),
      sent.map((b) => b.toString("hex")).sort(),
    );
  });

  it("answers each source at most --udp-rate datagrams a second, and counts the drops", async (t) => {
    const s = await serve(t, [
      ...["--mode", "single", "--udp", "0", "--udp-rate", "5", "--log-level", "info"],
      ...["--udp-trusted", "none"], // loopback is trusted by default: limit it here
    ]);
    const port = s.listening.udp as number;
    const a = await client();
    const b = await client();
    // Both sockets share 127.0.0.1: the limit is per address, so together they get 5.
    const t0 = performance.now();
    const got = await roundTrip(
      a,
      port,
      Array.from({ length: 20 }, () => randomBytes(8)),
      300,
    );
    // A burst of 5, plus what refilled at 5 a second while the datagrams arrived (at most the
    // time spent here: ~0.3 s, more on a loaded machine).
    const refill = Math.ceil((5 * (performance.now() - t0)) / 1000);
    assert.ok(got.length >= 5 && got.length <= 5 + refill, `${got.length} of 20, refill ${refill}`);
    const more = await roundTrip(b, port, [randomBytes(8)], 50);
    assert.ok(more.length <= 1);
    await sleep(1_100);
    const later = await roundTrip(
      a,
      port,
      [randomBytes(8), randomBytes(8), randomBytes(8)],
      3_000,
      3,
    );
    assert.equal(later.length, 3, "the bucket refills at 5 a second");
    a.close();
    b.close();
    await s.stop();
    await s.closed;
    const stopped = s.lines.find((l) => l.msg === LINES.workerStopped);
    const udp = stopped?.udp as UdpCounts;
    assert.equal(udp.received, 24);
    assert.equal(udp.answered + udp.rateLimited, 24);
    assert.ok(udp.rateLimited >= 14, JSON.stringify(udp));
  });

  it("--udp-trusted: loopback goes unlimited by default; a list without it limits it again", async (t) => {
    const burst = () => Array.from({ length: 60 }, () => randomBytes(8));
    const trusted = await serve(t, ["--mode", "single", "--udp", "0", "--udp-rate", "5"]);
    const c = await client();
    const all = await roundTrip(c, trusted.listening.udp as number, burst(), 5_000, 60);
    assert.equal(all.length, 60, "a loopback source cannot be spoofed from outside: no limit");
    const other = await serve(t, [
      ...["--mode", "single", "--udp", "0", "--udp-rate", "5"],
      ...["--udp-trusted", "10.0.0.0/8,private"],
    ]);
    const some = await roundTrip(c, other.listening.udp as number, burst(), 300);
    assert.ok(some.length < 60 && some.length >= 5, `${some.length} of 60`);
    c.close();
  });

  it("never answers a source port below 1024 (echo/chargen loops, reflection)", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("binding a source port below 1024 needs root; dropReason is unit-tested below");
      return;
    }
    const s = await serve(t, ["--mode", "single", "--udp", "0", "--log-level", "info"]);
    const port = s.listening.udp as number;
    const privileged = await client(1023);
    const ordinary = await client();
    const dropped = await roundTrip(privileged, port, [Buffer.from("loop?")], 300);
    const answered = await roundTrip(ordinary, port, [Buffer.from("fine")], 5_000, 1);
    privileged.close();
    ordinary.close();
    assert.equal(dropped.length, 0);
    assert.equal(answered.length, 1);
    await s.stop();
    await s.closed;
    const udp = s.lines.find((l) => l.msg === LINES.workerStopped)?.udp as UdpCounts;
    assert.equal(udp.reflection, 1);
  });

  it("drains cleanly while a datagram's offloaded work is still running", async (t) => {
    const s = await serve(t, [
      ...["--mode", "single", "--udp", "0", "--log-level", "info", "--drain-timeout", "1"],
      ...["--work", "sha256:1000000", "--offload", "1"],
    ]);
    // An open TCP connection keeps the drain going past the datagram's digest (~1 s).
    const held = await open(s.port);
    held.on("error", () => {});
    const c = await client();
    c.send(Buffer.from("slow"), s.listening.udp as number, HOST);
    // Time for the datagram to reach the loop (the assertion below says whether it did).
    await sleep(200);
    const exit = await s.stop("SIGTERM");
    c.close();
    assert.deepEqual(exit, { code: 0, signal: null });
    await s.closed;
    const stopped = s.lines.find((l) => l.msg === LINES.workerStopped);
    // Received, never answered: its digest was still on the pool when the drain closed the socket.
    const udp = stopped?.udp as UdpCounts;
    assert.deepEqual([udp.received, udp.answered], [1, 0]);
  });

  it("works in a multi-worker mode: every worker binds the port with SO_REUSEPORT", async (t) => {
    const s = await serve(t, [
      "--mode",
      "handoff",
      "--workers",
      "2",
      "--udp",
      "0",
      "--log-level",
      "info",
    ]);
    const port = s.listening.udp as number;
    // Many source ports, so the kernel's hash spreads them over both workers' sockets.
    const sockets = await Promise.all(Array.from({ length: 16 }, () => client()));
    const replies = await Promise.all(
      sockets.map((c) => roundTrip(c, port, [Buffer.from("hi")], 5_000, 1)),
    );
    const answered = replies.reduce((n, r) => n + r.length, 0);
    for (const c of sockets) c.close();
    assert.equal(answered, 16);
    await s.stop();
    await s.closed;
    const stopped = s.lines.filter((l) => l.msg === LINES.workerStopped);
    const counts = stopped.map((l) => (l.udp as UdpCounts).answered);
    assert.equal(counts.length, 2);
    assert.equal(
      counts.reduce((x, y) => x + y, 0),
      16,
    );
    // Sixteen source ports all hashed to one socket: a chance of 2 in 65,536.
    assert.ok(
      counts.every((n) => n > 0),
      `the kernel spread the sources over both: ${counts}`,
    );
  });
});

describe("per-source token bucket", () => {
  it("allows a burst of `rate`, then `rate` a second", () => {
    let now = 0;
    const limiter = new SourceLimiter(10, 100, () => now);
    const allowed = () =>
      Array.from({ length: 20 }, () => limiter.take("a")).filter(Boolean).length;
    assert.equal(allowed(), 10);
    now += 500;
    assert.equal(allowed(), 5);
    now += 10_000;
    assert.equal(allowed(), 10, "never more than one second's worth saved");
    assert.equal(limiter.take("b"), true, "sources are independent");
  });

  it("keeps at most maxSources buckets, whatever the number of sources", () => {
    let now = 0;
    const limiter = new SourceLimiter(1, 50, () => now);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(limiter.sources <= 50);
    now += 2_000;
    limiter.sweep();
    assert.equal(limiter.sources, 0, "refilled buckets are forgotten");
  });
});

describe("which datagrams go unanswered", () => {
  const guards = (o: Partial<Guards> = {}): Guards => ({
    limiter: null,
    trusted: null,
    loops: new LoopGuard(() => 0),
    budget: new SourceLimiter(1_000_000, 1, () => 0),
    inFlight: 0,
    queued: 0,
    ...o,
  });
  const d = (n: number) => Buffer.from(`datagram ${n}`);

  it("never a source port below 1024; then loops, rate, the worker's budget, the queue", () => {
    const limiter = new SourceLimiter(2, 100, () => 0);
    const g = guards({ limiter });
    assert.equal(dropReason(1023, "10.0.0.1", d(1), g), "reflection");
    assert.equal(dropReason(7, "10.0.0.1", d(2), g), "reflection", "echo's own port");
    assert.equal(dropReason(19, "10.0.0.1", d(3), g), "reflection", "chargen");
    assert.equal(dropReason(0, "10.0.0.1", d(4), g), "reflection");
    // The reflected ones took no tokens: the address still has its burst of 2.
    assert.equal(dropReason(1024, "10.0.0.1", d(5), g), null);
    assert.equal(dropReason(40000, "10.0.0.1", d(6), g), null);
    assert.equal(dropReason(40000, "10.0.0.1", d(6), g), "loop", "the reply just sent, back");
    assert.equal(dropReason(40000, "10.0.0.1", d(7), g), "rateLimited");
    const queued = guards({ queued: MAX_SEND_QUEUE + 1 });
    assert.equal(dropReason(40000, "10.0.0.2", d(8), queued), "queueFull");
    const full = guards({ inFlight: MAX_IN_FLIGHT });
    assert.equal(dropReason(40000, "10.0.0.3", d(9), full), "busy");
    const spent = guards({ budget: new SourceLimiter(1, 1, () => 0) });
    assert.equal(dropReason(40000, "10.0.0.4", d(10), spent), null);
    assert.equal(dropReason(40000, "10.0.0.5", d(11), spent), "busy", "the worker's budget");
    assert.equal(dropReason(40000, "10.0.0.6", d(12), guards()), null, "no limit with rate 0");
    // A trusted source takes no tokens; the others keep their limit, and the checks before it.
    const mine = guards({
      limiter: new SourceLimiter(1, 100, () => 0),
      trusted: trustOf("loopback"),
    });
    for (let i = 0; i < 5; i++)
      assert.equal(dropReason(40000 + i, "127.0.0.1", d(20 + i), mine), null);
    assert.equal(dropReason(100, "127.0.0.1", d(30), mine), "reflection", "trusted or not");
    assert.equal(dropReason(40000, "10.0.0.7", d(31), mine), null);
    assert.equal(dropReason(40001, "10.0.0.7", d(32), mine), "rateLimited");
  });
});
