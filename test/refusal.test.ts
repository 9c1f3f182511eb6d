/**
 * The handoff dispatcher when a worker cannot take a handle (NODE_HANDLE_NACK: it is out of
 * descriptors) and when a worker exits with handles in flight; stand-in workers and handles,
 * node:test's mock timers for the back-off. (test/nack.test.ts checks with real processes that
 * Node answers a raw handle's NACK as these stand-ins assume.)
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { createLogger } from "../src/log.ts";
import { Dispatcher } from "../src/main/handoff/dispatcher.ts";
import { FakeChild, FakeHandle } from "./helpers/handoff-fakes.ts";

/** A dispatcher on a fake echo listener with `workers` fake workers attached. */
function dispatcher(t: TestContext, workers: number, spill = false) {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1e12 });
  const polled = new FakeHandle();
  const d = new Dispatcher(
    { echo: polled, http: null },
    { policy: "least-connections", spill, backlog: 99 },
    createLogger("silent"),
  );
  const children = Array.from({ length: workers }, (_, id) => {
    const child = new FakeChild();
    d.attach(id, child.asChild);
    return child;
  });
  /** A client connects: libuv hands the listener a new connection handle. */
  const connect = (): FakeHandle => {
    const handle = new FakeHandle();
    polled.onconnection?.(0, handle);
    return handle;
  };
  return { d, polled, children, connect };
}

describe("a worker out of descriptors (NACK)", () => {
  it("its connection goes to another worker, still open, and it gets nothing while it backs off", (t) => {
    const { d, children, connect } = dispatcher(t, 2);
    const [a, b] = children as [FakeChild, FakeChild];
    const first = connect();
    assert.deepEqual(a.conns, [first]);
    a.nack();
    assert.deepEqual(b.conns, [first], "handed to the other worker at once");
    assert.equal(first.closed, false, "the primary's copy is still open");
    assert.equal(d.refused, 1);
    assert.equal(d.outOfDescriptors, 1);
    b.ack();
    assert.equal(first.closed, true, "closed once the other worker has it");
    // Backing off (50 ms): the next connection goes to b although a holds fewer.
    t.mock.timers.tick(49);
    const second = connect();
    assert.deepEqual(b.conns, [first, second]);
    b.ack();
    t.mock.timers.tick(1);
    assert.equal(d.outOfDescriptors, 0);
    const third = connect();
    assert.deepEqual(a.conns, [first, third], "a takes connections again");
  });

  it("with one worker, the connection waits and is handed again after the back-off", (t) => {
    const { d, children, connect } = dispatcher(t, 1);
    const [a] = children as [FakeChild];
    const conn = connect();
    a.nack();
    assert.equal(d.queued, 1, "queued again, not lost");
    assert.equal(conn.closed, false);
    t.mock.timers.tick(50);
    assert.deepEqual(a.conns, [conn, conn]);
    a.nack();
    t.mock.timers.tick(99);
    assert.equal(a.conns.length, 2, "the second back-off is 100 ms");
    t.mock.timers.tick(1);
    assert.equal(a.conns.length, 3);
    a.ack();
    assert.equal(conn.closed, true);
    assert.equal(d.queued, 0);
    assert.equal(d.refused, 2);
  });

  it("a refused spare-listener request keeps the listener and is asked again after the back-off", (t) => {
    const { polled, children, connect } = dispatcher(t, 1, true);
    const [a] = children as [FakeChild];
    assert.equal(a.sent[0]?.message.t, "dup", "asked for a spare when attached");
    const conn = connect(); // waits: the channel is busy with the request
    a.nack();
    assert.equal(polled.closed, false, "the listener is still ours and open");
    assert.equal(a.sent.length, 1, "nothing while it backs off");
    t.mock.timers.tick(50);
    assert.deepEqual(
      a.sent.slice(1).map((s) => s.message.t),
      ["conn", "dup"],
      "the connection, then the request again",
    );
    // Answers come one per handle, in order: a NACK then an ACK refuse the connection and
    // deliver the request, whatever was refused before.
    a.nack();
    a.ack();
    assert.equal(conn.closed, false, "refused: the primary still holds it");
    assert.equal(polled.closed, false);
    t.mock.timers.tick(100);
    assert.equal(a.conns.length, 2);
    a.ack();
    assert.equal(conn.closed, true, "delivered at last");
  });
});

describe("a worker that exits with handles in flight", () => {
  it("is not counted out of descriptors once it is gone (the supervisor no longer counts it)", (t) => {
    const { d, children, connect } = dispatcher(t, 2);
    const [a] = children as [FakeChild, FakeChild];
    connect();
    a.nack();
    assert.equal(d.outOfDescriptors, 1);
    d.detach(a.asChild);
    assert.equal(d.outOfDescriptors, 0);
  });

  it("does not hand out again a connection whose ACK comes after 'exit'", (t) => {
    const { d, children, connect } = dispatcher(t, 2);
    const [a, b] = children as [FakeChild, FakeChild];
    const conn = connect();
    assert.deepEqual(a.conns, [conn]);
    d.detach(a.asChild); // 'exit' came first...
    assert.deepEqual(b.conns, [], "not yet: the channel may still hold its ACK");
    a.ack(); // ...its ACK was still in the pipe
    a.disconnect();
    assert.equal(conn.closed, true, "the worker had taken it");
    assert.deepEqual(b.conns, [], "never handed to a second worker");
  });

  it("hands a connection the dead worker never acknowledged to another, once its channel closes", (t) => {
    const { d, children, connect } = dispatcher(t, 2);
    const [a, b] = children as [FakeChild, FakeChild];
    const conn = connect();
    d.detach(a.asChild);
    a.disconnect();
    assert.deepEqual(b.conns, [conn]);
    assert.equal(conn.closed, false);
  });
});
