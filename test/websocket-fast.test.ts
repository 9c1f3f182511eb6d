/**
 * The WebSocket echo's fast path (src/worker/websocket/fast.ts) with a raw client on a real
 * socket: what it echoes and how, what it leaves to ws, and that it keeps its bounds. The
 * differential test (websocket-differential.test.ts) compares it with ws on generated streams.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { after, describe, it, type TestContext } from "node:test";
import { createLogger } from "../src/log.ts";
import { Connections } from "../src/worker/loop/connections.ts";
import { Faults } from "../src/worker/loop/faults.ts";
import { Tally } from "../src/worker/loop/tally.ts";
import { attachWebSocketEcho } from "../src/worker/websocket/echo.ts";
import { FastFrames, HIGH_WATER } from "../src/worker/websocket/fast.ts";
import { FAST_FRAME_MAX } from "../src/worker/websocket/frames.ts";
import { HOST, random } from "./helpers/client.ts";

const UPGRADE =
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

interface FrameOptions {
  readonly fin?: boolean;
  readonly key?: readonly number[];
  /** The length field's size on the wire: the shortest by default. */
  readonly form?: 7 | 16 | 64;
}

/** A client frame: masked with `key` (random by default). */
function frame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
  const n = payload.length;
  const form = o.form ?? (n < 126 ? 7 : n < 65_536 ? 16 : 64);
  const head = Buffer.alloc(2 + (form === 16 ? 2 : form === 64 ? 8 : 0));
  head[0] = (o.fin === false ? 0 : 0x80) | opcode;
  head[1] = 0x80 | (form === 7 ? n : form === 16 ? 126 : 127);
  if (form === 16) head.writeUInt16BE(n, 2);
  if (form === 64) head.writeBigUInt64BE(BigInt(n), 2);
  const key = Buffer.from(o.key ?? random(4));
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([head, key, body]);
}

/** What the server sends for a message: unmasked, the shortest length field. */
function echo(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
  head[0] = 0x80 | opcode;
  head[1] = n < 126 ? n : n < 65_536 ? 126 : 127;
  if (n >= 126 && n < 65_536) head.writeUInt16BE(n, 2);
  if (n >= 65_536) head.writeBigUInt64BE(BigInt(n), 2);
  return Buffer.concat([head, payload]);
}

const closeFrame = (code: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
};

interface Server {
  readonly port: number;
  readonly tally: Tally;
  readonly drain: () => void;
  /** The server's side of each upgraded connection. */
  readonly upgraded: Socket[];
}

async function start(t: TestContext, tally = new Tally(), maxMessage = 1024 ** 2): Promise<Server> {
  const server = createServer();
  const drain = attachWebSocketEcho(server, {
    maxMessage,
    compression: false,
    fastPath: true,
    injected: null,
    access: null,
    work: null,
    faults: new Faults(createLogger("silent"), tally),
    tally,
    connections: new Connections({ maxOpen: 0, idleMs: 0 }, tally),
  });
  const upgraded: Socket[] = [];
  server.on("upgrade", (_req, socket: Socket) => upgraded.push(socket));
  server.listen(0, HOST);
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, tally, drain, upgraded };
}

/** Every raw client, closed when the file's tests end (upgraded sockets outlive server.close). */
const clients = new Set<Socket>();
after(() => {
  for (const c of clients) c.destroy();
});

/** A raw client past the upgrade: what it has received since, and a wait for more. */
class Raw {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  #waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = connect(port, HOST);
    clients.add(this.socket);
    this.socket.on("data", (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.socket.on("close", () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    this.socket.on("error", () => {});
  }

  static async open(port: number): Promise<Raw> {
    const raw = new Raw(port);
    raw.socket.write(UPGRADE);
    await raw.until((b) => b.includes("\r\n\r\n"));
    assert.match(raw.received.toString("latin1"), /^HTTP\/1\.1 101 /);
    raw.received = raw.received.subarray(raw.received.indexOf("\r\n\r\n") + 4);
    return raw;
  }

  async until(done: (b: Buffer) => boolean, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!done(this.received)) {
      if (this.closed || Date.now() > deadline)
        assert.fail(`got ${this.received.length} bytes: ${this.received.toString("hex", 0, 64)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.received;
  }

  /** Wait until `n` bytes came, and take them. */
  async take(n: number): Promise<Buffer> {
    await this.until((b) => b.length >= n);
    const got = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return got;
  }
}

const pause = () => new Promise((r) => setTimeout(r, 30));

describe("WebSocket fast path", () => {
  it("echoes a read of whole frames in one write, with ws's headers, every length field", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    const messages: [number, Buffer, FrameOptions][] = [
      [2, random(0), {}],
      [1, Buffer.from("héllo ✓"), {}],
      [2, random(125), {}],
      [2, random(126), {}],
      [2, random(300), { form: 64 }], // a longer length field than needed: ws answers the shortest
      [2, random(5), { form: 16, key: [0, 0, 0, 0] }],
      [1, Buffer.from("x".repeat(1000)), {}],
      [2, random(4096), {}],
    ];
    const wire = Buffer.concat(messages.map(([op, p, o]) => frame(op, p, o)));
    const want = Buffer.concat(messages.map(([op, p]) => echo(op, p)));
    raw.socket.write(wire);
    assert.deepEqual(await raw.take(want.length), want);
    assert.equal(s.tally.messages.websocket, messages.length);
    assert.equal(s.tally.fast.wsFast, messages.length, "all in one read, all on the fast path");
    // Over FAST_FRAME_MAX, ws echoes (with the 16- and 64-bit length fields).
    const big = [random(FAST_FRAME_MAX + 1), random(65_535), random(65_536), random(200_000)];
    raw.socket.write(Buffer.concat(big.map((p) => frame(2, p))));
    const bigEcho = Buffer.concat(big.map((p) => echo(2, p)));
    assert.deepEqual(await raw.take(bigEcho.length), bigEcho);
    assert.equal(s.tally.fast.wsFast, messages.length, "ws echoed those");
    assert.equal(s.tally.messages.websocket, messages.length + big.length);
  });

  it("echoes a payload at every alignment and mask (the word loop's edges)", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    for (let lead = 0; lead < 4; lead++) {
      const payloads = [127, 128, 129, 130, 131, 1001].map((n) => random(n));
      // A leading 0..3-byte message moves every later payload off its alignment.
      const all = [random(lead), ...payloads];
      raw.socket.write(Buffer.concat(all.map((p) => frame(2, p))));
      const want = Buffer.concat(all.map((p) => echo(2, p)));
      assert.deepEqual(await raw.take(want.length), want, `lead ${lead}`);
    }
    assert.equal(s.tally.fast.wsFast, s.tally.messages.websocket);
  });

  it("follows a frame cut by a read through ws, then takes whole reads again", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    const big = random(5000);
    const f = frame(2, big);
    raw.socket.write(f.subarray(0, 3)); // a header cut in its length field
    await pause();
    raw.socket.write(f.subarray(3, 2000));
    await pause();
    raw.socket.write(f.subarray(2000));
    assert.deepEqual(await raw.take(echo(2, big).length), echo(2, big));
    assert.equal(s.tally.fast.wsFast, 0, "ws read the cut frame");
    const small = random(10);
    raw.socket.write(frame(2, small));
    assert.deepEqual(await raw.take(12), echo(2, small));
    assert.equal(s.tally.fast.wsFast, 1, "the next whole read was the fast path's");
  });

  it("does not take a cut frame's payload for frames (regression: a payload that looks like frames)", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    // With the key 0 the payload on the wire is itself a whole masked frame, "pwned".
    const inner = frame(2, Buffer.from("pwned"), { key: [0, 0, 0, 0] });
    const outer = frame(2, inner, { key: [0, 0, 0, 0] });
    raw.socket.write(outer.subarray(0, 6)); // the header and its key: the payload comes next
    await pause();
    raw.socket.write(outer.subarray(6));
    assert.deepEqual(await raw.take(2 + inner.length), echo(2, inner));
    await pause();
    assert.equal(raw.received.length, 0, "nothing else was echoed");
    assert.equal(s.tally.messages.websocket, 1);
  });

  it("leaves fragments, pings and bad text to ws, in order, and ws answers them", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    const a = random(40);
    raw.socket.write(
      Buffer.concat([
        frame(2, a.subarray(0, 10), { fin: false }),
        frame(9, Buffer.from("ping")),
        frame(0, a.subarray(10)),
        frame(2, Buffer.from("after")),
      ]),
    );
    const pong = Buffer.concat([Buffer.from([0x8a, 4]), Buffer.from("ping")]);
    const want = Buffer.concat([pong, echo(2, a), echo(2, Buffer.from("after"))]);
    assert.deepEqual(await raw.take(want.length), want);
    assert.equal(s.tally.fast.wsFast, 0, "those reads were ws's");
    // A read of good text and one invalid UTF-8 text frame: ws echoes the first, closes 1007.
    raw.socket.write(
      Buffer.concat([frame(1, Buffer.from("good")), frame(1, Buffer.from([0xc3, 0x28]))]),
    );
    const close = await raw.until((b) => b.length >= 6 + 4);
    assert.deepEqual(close.subarray(0, 6), echo(1, Buffer.from("good")));
    assert.equal(close[6], 0x88, "a close frame");
    assert.equal(close.readUInt16BE(8), 1007);
  });

  it("leaves a message over --max-message to ws, which closes with 1009", async (t) => {
    const s = await start(t, new Tally(), 100);
    const raw = await Raw.open(s.port);
    raw.socket.write(Buffer.concat([frame(2, random(100)), frame(2, random(101))]));
    const got = await raw.until((b) => b.length >= 102 + 4);
    assert.equal(got[102], 0x88);
    assert.equal(got.readUInt16BE(104), 1009);
    assert.equal(s.tally.limits.maxMessage, 1);
  });

  it("echoes nothing more once the server is draining; ws finishes the close handshake", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    s.drain();
    const head = await raw.take(2);
    const close = await raw.take(head[1] as number);
    assert.deepEqual([head[0], close.readUInt16BE(0)], [0x88, 1001]);
    raw.socket.write(Buffer.concat([frame(2, random(10)), frame(8, closeFrame(1001))]));
    await raw.until(() => raw.closed);
    assert.equal(raw.received.toString("hex"), "", "the message after the close was not echoed");
  });

  it("an exception of its own closes that connection with 1011, counted", async (t) => {
    const tally = new Tally();
    let fail = false;
    Object.defineProperty(tally.fast, "wsFast", {
      get: () => 0,
      set: () => {
        if (fail) throw new Error("injected");
      },
    });
    const s = await start(t, tally);
    const raw = await Raw.open(s.port);
    raw.socket.write(frame(2, random(3)));
    await raw.take(5);
    fail = true;
    raw.socket.write(frame(2, random(3)));
    const close = await raw.take(4);
    assert.deepEqual([close[0], close.readUInt16BE(2)], [0x88, 1011]);
    assert.equal(tally.errors.internal, 1);
    const other = await Raw.open(s.port);
    fail = false;
    other.socket.write(frame(2, Buffer.from("ok")));
    assert.deepEqual(await other.take(4), echo(2, Buffer.from("ok")), "others carry on");
  });

  it("pauses ws once HIGH_WATER bytes wait for the client, and resumes when they are sent", () => {
    const calls: string[] = [];
    const ws = {
      readyState: 1,
      pause: () => calls.push("pause"),
      resume: () => calls.push("resume"),
    };
    let queued = HIGH_WATER - 100;
    const written: (() => void)[] = [];
    const socket = {
      get writableLength() {
        return queued;
      },
      write(b: Buffer, done?: () => void) {
        queued += b.length;
        if (done) written.push(done);
        return false;
      },
    };
    const tally = new Tally();
    const o = { maxMessage: 1024, faults: new Faults(createLogger("silent"), tally), tally };
    const fast = new FastFrames(ws as never, socket as never, () => assert.fail("not ws's"), o);
    fast.read(frame(2, random(10))); // 12 bytes more: still under HIGH_WATER
    assert.deepEqual(calls, []);
    fast.read(frame(2, random(100))); // over it
    assert.deepEqual(calls, ["pause"]);
    for (const done of written) done();
    assert.deepEqual(calls, ["pause", "resume"]);
    assert.equal(tally.fast.wsFast, 2);
  });

  it("stops reading from a client that does not read, at HIGH_WATER", async (t) => {
    const s = await start(t);
    const raw = await Raw.open(s.port);
    const [theirs] = s.upgraded;
    assert.ok(theirs !== undefined);
    raw.socket.pause(); // never reads: the server's replies pile up
    const burst = Buffer.concat(Array.from({ length: 64 }, () => frame(2, random(4000))));
    const deadline = Date.now() + 10_000;
    // Write until the server stops taking: the kernel's buffers are full and ours back up.
    while (raw.socket.writableLength < 8 * 1024 ** 2 && Date.now() < deadline) {
      if (!raw.socket.write(burst)) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(raw.socket.writableLength >= 8 * 1024 ** 2, "the server stopped reading");
    assert.ok(theirs.isPaused(), "the server paused the connection");
    // What it owes is bounded: HIGH_WATER and what one read (64 KiB) echoed past it.
    assert.ok(
      theirs.writableLength <= HIGH_WATER + 64 * 1024,
      `the server holds ${theirs.writableLength} bytes for it`,
    );
  });
});
