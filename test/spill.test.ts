/**
 * The spill policy, the listener's two copies and the accept back-off, with stand-in handles and
 * workers.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { constants } from "node:os";
import { describe, it } from "node:test";
import { createLogger } from "../src/log.ts";
import { WorkerChannel } from "../src/main/handoff/channel.ts";
import { Dispatcher } from "../src/main/handoff/dispatcher.ts";
import { Listener } from "../src/main/handoff/listener.ts";
import { Spill } from "../src/main/handoff/spill.ts";
import type { ToWorker } from "../src/messages.ts";
import { FakeHandle } from "./helpers/handoff-fakes.ts";

function worker(id: number, load: number): { channel: WorkerChannel; sent: ToWorker[] } {
  const sent: ToWorker[] = [];
  const child = { send: (message: ToWorker) => sent.push(message) } as unknown as ChildProcess;
  const channel = new WorkerChannel(id);
  channel.attach(child, id);
  channel.report(load, 0);
  return { channel, sent };
}

/** A listener whose polled copy is `polled` and which already has a spare. */
function listenerWithSpare(): { listener: Listener; polled: FakeHandle; spare: FakeHandle } {
  const polled = new FakeHandle();
  const listener = new Listener(polled, 1234, () => {});
  const spare = new FakeHandle();
  assert.equal(listener.requestSpare(0), polled);
  listener.spareArrived(spare);
  return { listener, polled, spare };
}

const log = createLogger("silent");

describe("listener", () => {
  it("cannot pause without a spare, and asks for one spare at a time", () => {
    const polled = new FakeHandle();
    const listener = new Listener(polled, 4096, () => {});
    assert.equal(listener.pause(), false);
    assert.equal(listener.requestSpare(1), polled);
    assert.equal(listener.requestSpare(2), null, "already asked");
    assert.equal(listener.workerGone(2), false);
    assert.equal(listener.workerGone(1), true, "the request died with worker 1");
    assert.equal(listener.requestSpare(2), polled);
  });

  it("pauses by closing the polled copy and resumes by polling the spare", () => {
    const { listener, polled, spare } = listenerWithSpare();
    assert.equal(listener.pause(), true);
    assert.equal(polled.closed, true);
    assert.equal(spare.closed, false, "the spare keeps the socket open");
    assert.equal(listener.resume(), 0);
    assert.equal(spare.polling, true);
    assert.equal(spare.backlog, 1234, "with the configured --backlog");
    assert.equal(listener.spare, null, "a new spare is needed");
  });

  it("closes both copies, and any spare that arrives later", () => {
    const { listener, polled, spare } = listenerWithSpare();
    listener.close();
    assert.ok(polled.closed && spare.closed);
    const late = new FakeHandle();
    listener.spareArrived(late);
    assert.equal(late.closed, true);
  });
});

/** Two idle workers lent the listener; then a comes back from its ceiling of 8. */
function aAtItsCeiling() {
  const { listener } = listenerWithSpare();
  const a = worker(0, 0);
  const b = worker(1, 0);
  const spill = new Spill("echo", [a.channel, b.channel], listener, log, () => {});
  spill.start(4);
  a.channel.report(8, 0);
  spill.returned(a.channel, 8, true);
  return { a, b, spill };
}

describe("spill", () => {
  const grant = (maxOpen: number, rush = 16) => ({ t: "accept", s: "echo", maxOpen, ms: 50, rush });

  it("lends the listener to every worker at once, and stops accepting", () => {
    const { listener, polled } = listenerWithSpare();
    const a = worker(0, 10);
    const b = worker(1, 12);
    const spill = new Spill("echo", [a.channel, b.channel], listener, log, () => {});
    spill.start(4);
    // 22 open: a grant step of 8 from the least loaded; b is 2 ahead, so its room is 6.
    assert.deepEqual(a.sent, [grant(10 + 8)]);
    assert.deepEqual(b.sent, [grant(12 + 6)]);
    assert.equal(polled.closed, true);
    spill.stop();
  });

  it("keeps a worker that is far ahead out until the others catch up", () => {
    const { listener } = listenerWithSpare();
    const a = worker(0, 30);
    const b = worker(1, 10);
    const spill = new Spill("echo", [a.channel, b.channel], listener, log, () => {});
    spill.start(4);
    assert.equal(a.sent.length, 0, "20 ahead of b: no room");
    assert.deepEqual(b.sent, [grant(18)]);
    b.channel.report(18, 0);
    spill.returned(b.channel, 8, true);
    assert.equal(a.sent.length, 0, "still 12 ahead");
    assert.deepEqual(b.sent.at(-1), grant(18 + 8));
    b.channel.report(26, 0);
    spill.returned(b.channel, 8, true);
    assert.deepEqual(a.sent, [grant(30 + 4)], "4 ahead: room for the step less its lead");
    assert.deepEqual(b.sent.at(-1), grant(26 + 8));
    spill.stop();
  });

  it("splits the rush that keeps a grant going over the workers", () => {
    const { listener } = listenerWithSpare();
    const channels = [0, 1, 2, 3].map((id) => worker(id, 0));
    const spill = new Spill(
      "echo",
      channels.map((w) => w.channel),
      listener,
      log,
      () => {},
    );
    spill.start(8);
    for (const w of channels) assert.equal((w.sent[0] as { rush: number }).rush, 8);
    spill.stop();
  });

  it("goes on while windows are busy and gives the listener back after quiet ones", (t) => {
    t.mock.timers.enable({ apis: ["setInterval", "Date"], now: 1e12 });
    const { listener, spare } = listenerWithSpare();
    const a = worker(0, 0);
    const b = worker(1, 0);
    let ended = 0;
    const spill = new Spill("echo", [a.channel, b.channel], listener, log, () => ended++);
    spill.start(4);
    for (let i = 0; i < 10; i++) {
      t.mock.timers.tick(50);
      spill.busy(a.channel);
      spill.busy(b.channel);
    }
    assert.equal(ended, 0, "busy windows keep both grants alive past the 250 ms write-off");
    spill.returned(a.channel, 3, false);
    assert.equal(a.sent.length, 1, "a quiet window ends that worker's grant");
    assert.equal(spare.polling, false, "b still accepts");
    spill.returned(b.channel, 2, false);
    assert.equal(ended, 1, "the last quiet grant ends the spill");
    assert.equal(spare.polling, true, "the primary accepts again");
    spill.stop();
  });

  it("lends the listener again to every worker with room after a busy return", () => {
    const { listener } = listenerWithSpare();
    const a = worker(0, 0);
    const b = worker(1, 0);
    const spill = new Spill("echo", [a.channel, b.channel], listener, log, () => {});
    spill.start(4);
    spill.returned(a.channel, 2, false); // quiet: a is out
    spill.returned(b.channel, 40, false); // busy (a last window of 40 is over 16): both again
    assert.equal(a.sent.length, 2);
    assert.equal(b.sent.length, 2);
    spill.stop();
  });

  it("gives a worker back from its ceiling the same ceiling, whatever the stale loads say", () => {
    const { a, b, spill } = aAtItsCeiling();
    assert.equal(a.sent.length, 1, "8 ahead of b's (stale) 0: no room now");
    spill.reported(b.channel);
    assert.equal(b.sent.length, 1, "b still holds its grant");
    // a served some and says so with 6 open; b's load is still the 0 it reported.
    a.channel.report(6, 0);
    spill.reported(a.channel);
    assert.deepEqual(a.sent.at(-1), grant(8), "6 ahead would leave room 2 < 4: it keeps its 8");
    spill.reported(a.channel);
    assert.equal(a.sent.length, 2, "granted once");
    spill.returned(a.channel, 3, false);
    a.channel.report(0, 0);
    spill.reported(a.channel);
    assert.equal(a.sent.length, 2, "after a quiet end, a load report is just a load report");
    spill.stop();
  });

  it("raises the ceilings as long-lived connections fill every worker", () => {
    const { a, b, spill } = aAtItsCeiling();
    assert.equal(a.sent.length, 1, "8 ahead of b, back at its ceiling: it waits");
    b.channel.report(8, 0);
    spill.returned(b.channel, 8, true);
    assert.deepEqual(b.sent.at(-1), grant(16));
    assert.deepEqual(a.sent.at(-1), grant(16), "b caught up: a goes on too");
    spill.stop();
  });

  it("writes off a grant that is never heard of, so the primary accepts again", (t) => {
    t.mock.timers.enable({ apis: ["setInterval", "Date"], now: 1e12 }); // (0 means "no grant")
    const { listener, spare } = listenerWithSpare();
    const a = worker(0, 0);
    let ended = 0;
    const spill = new Spill("echo", [a.channel], listener, log, () => ended++);
    spill.start(2);
    t.mock.timers.tick(250);
    assert.equal(ended, 0, "still waiting at 250 ms");
    assert.equal(spare.polling, false);
    t.mock.timers.tick(50); // the watchdog's next look, past 250 ms
    assert.equal(ended, 1);
    assert.equal(spare.polling, true);
    spill.stop();
  });

  it("ends the spill when the worker holding the listener dies", () => {
    const { listener } = listenerWithSpare();
    const a = worker(0, 0);
    let ended = 0;
    const spill = new Spill("echo", [a.channel], listener, log, () => ended++);
    spill.start(2);
    spill.channelGone();
    assert.equal(ended, 0, "its channel is still open: the grant may yet come back");
    a.channel.exited();
    a.channel.release();
    spill.channelGone();
    assert.equal(ended, 1);
    spill.stop();
  });
});

describe("accept errors in the handoff primary", () => {
  /** A dispatcher on a fake listener, with one fake worker that has sent back a spare copy. */
  function dispatcherWithSpare() {
    const polled = new FakeHandle();
    polled.polling = true;
    const spare = new FakeHandle();
    const dispatcher = new Dispatcher(
      { echo: polled, http: null },
      { policy: "least-connections", spill: true, backlog: 99 },
      createLogger("silent"),
    );
    const child = Object.assign(new EventEmitter(), {
      connected: true,
      send: () => true,
    }) as unknown as ChildProcess;
    dispatcher.attach(0, child); // asks the worker for a spare copy...
    dispatcher.message(child, { t: "dup", s: "echo" }, spare); // ...which comes back
    return { dispatcher, polled, spare };
  }

  it("EMFILE: stops accepting for a back-off, then accepts again on the spare", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1e12 });
    const { dispatcher, polled, spare } = dispatcherWithSpare();
    polled.onconnection?.(-constants.errno.EMFILE, undefined);
    assert.equal(polled.closed, true, "the polled copy is closed: no accept, no busy loop");
    assert.equal(spare.polling, false);
    assert.equal(dispatcher.acceptErrors, 1);
    t.mock.timers.tick(49);
    assert.equal(spare.polling, false, "the first back-off is 50 ms");
    t.mock.timers.tick(1);
    assert.equal(spare.polling, true, "accepting again on the spare");
    assert.equal(spare.backlog, 99);
    t.mock.timers.reset();
    await dispatcher.stop();
  });

  it("another accept error is counted and does not stop accepting", async () => {
    const { dispatcher, polled } = dispatcherWithSpare();
    polled.onconnection?.(-constants.errno.ECONNABORTED, undefined);
    assert.equal(polled.closed, false);
    assert.equal(dispatcher.acceptErrors, 1);
    await dispatcher.stop();
  });
});
