/**
 * The HTTP fast path's own bounds, with a stand-in socket: answers a client has not taken are
 * held against the loop's --http-buffer share, reads pause meanwhile, and a read whose answers
 * do not fit goes to node:http (which answers 503 when it is full).
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { createLogger } from "../src/log.ts";
import { FastPath } from "../src/worker/http/fast.ts";
import { ByteBudget } from "../src/worker/loop/byte-budget.ts";
import { Faults } from "../src/worker/loop/faults.ts";
import { Tally } from "../src/worker/loop/tally.ts";

/** A socket that takes writes into a list, and says "full" when told to. */
class FakeSocket extends EventEmitter {
  readonly written: string[] = [];
  full = false;
  paused = false;
  ended = false;
  write(data: string): boolean {
    this.written.push(data);
    return !this.full;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(data?: string): void {
    if (data !== undefined) this.written.push(data);
    this.ended = true;
  }
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
  destroySoon(): void {}
}

const request = (body: string) =>
  `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

function fastPath(budget: ByteBudget, slow: (read: Buffer) => void) {
  const tally = new Tally();
  const path = new FastPath({
    maxBody: 1024,
    keepAliveMs: () => 5_000,
    headerTimeoutMs: 10_000,
    budget,
    draining: () => false,
    off: () => false,
    slow: (_socket, read) => slow(read),
    faults: new Faults(createLogger("silent"), tally),
    tally,
  });
  const socket = new FakeSocket();
  path.take(socket as unknown as Socket);
  return { socket, tally };
}

describe("the HTTP fast path's buffer", () => {
  it("holds answers the client has not taken against --http-buffer, and pauses reading", () => {
    const budget = new ByteBudget(10_000);
    const { socket, tally } = fastPath(budget, () => assert.fail("not handed over"));
    socket.full = true;
    socket.emit("data", Buffer.from(request("a") + request("bb") + request("ccc")));
    assert.equal(tally.fast.httpFast, 3, "three answers in one write");
    assert.equal(socket.written.length, 1);
    const answered = (socket.written[0] as string).length;
    assert.equal(budget.held, answered, "held until the client takes them");
    assert.equal(socket.paused, true);
    socket.full = false;
    socket.emit("drain");
    assert.equal(budget.held, 0);
    assert.equal(socket.paused, false);
    socket.emit("data", Buffer.from(request("d")));
    assert.equal(budget.held, 0, "written at once: nothing held");
    socket.emit("close");
  });

  it("hands a read whose answers do not fit to node:http, and gives back what it held", () => {
    const budget = new ByteBudget(400);
    const handed: Buffer[] = [];
    const { socket, tally } = fastPath(budget, (read) => handed.push(read));
    socket.full = true;
    const first = Buffer.from(request("a"));
    socket.emit("data", first);
    const held = budget.held;
    assert.ok(held > 0 && held <= 400, `${held} held`);
    const second = Buffer.from(request("b") + request("c"));
    socket.emit("data", second);
    assert.deepEqual(handed, [second], "the whole read, for node:http to answer (503)");
    assert.equal(tally.fast.httpFast, 1);
    assert.equal(budget.held, 0, "off the fast path, the connection holds nothing of the budget");
  });
});

describe("the HTTP fast path's keep-alive timeout", () => {
  it("closes a connection idle for it since its last answer, not one that keeps asking", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const { socket } = fastPath(new ByteBudget(10_000), () => assert.fail("not handed over"));
    socket.emit("data", Buffer.from(request("a")));
    for (let k = 0; k < 4; k++) {
      t.mock.timers.tick(3_000); // within the 5 s each time, for 12 s in all
      assert.equal(socket.destroyed, false, `closed while asking, after ${3 * (k + 1)} s`);
      socket.emit("data", Buffer.from(request("b")));
    }
    t.mock.timers.tick(4_900);
    assert.equal(socket.destroyed, false, "4.9 s after the last answer");
    t.mock.timers.tick(200);
    assert.equal(socket.destroyed, true, "5.1 s after the last answer");
    socket.emit("close");
  });
});
