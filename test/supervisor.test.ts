import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { it } from "node:test";
import { createLogger } from "../src/log.ts";
import { Supervisor } from "../src/main/supervision/supervisor.ts";

/** A stand-in for a worker process: the test says when it is ready and when it dies. */
class FakeChild extends EventEmitter {
  static next = 1000;
  readonly pid = FakeChild.next++;
  connected = true;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly sent: unknown[] = [];
  /** Like a ChildProcess: a write on a channel that broke fails to `done`, or as an "error". */
  broken = false;
  send(message: unknown, done?: (err: Error | null) => void): boolean {
    if (!this.broken) this.sent.push(message);
    const err = this.broken ? new Error("write EPIPE") : null;
    if (done !== undefined) process.nextTick(done, err);
    else if (err !== null) process.nextTick(() => this.emit("error", err));
    return true;
  }
  kill(): boolean {
    this.die();
    return true;
  }
  ready(): void {
    this.emit("message", { t: "ready", ports: { echo: 1, http: null, udp: null } });
  }
  die(): void {
    if (this.exitCode !== null) return;
    this.exitCode = 1;
    this.connected = false;
    this.emit("exit", 1, null);
  }
}

/** A supervisor of stand-ins, its first worker started and ready. */
async function supervised(): Promise<{ supervisor: Supervisor<FakeChild>; children: FakeChild[] }> {
  const children: FakeChild[] = [];
  const supervisor = new Supervisor(() => {
    const child = new FakeChild();
    children.push(child);
    return child;
  }, createLogger("silent"));
  const first = supervisor.add(0);
  (children[0] as FakeChild).ready();
  await first;
  return { supervisor, children };
}

it("replaces a worker that keeps dying young after 50, 100, 200, 400, 800, 1600 ms", async (t) => {
  // Stand-in processes and mocked timers: the delays are the supervisor's, not a fork's.
  t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
  const { supervisor, children } = await supervised();
  const delays: number[] = [];
  for (let death = 0; death < 6; death++) {
    (children.at(-1) as FakeChild).die();
    const spawned = children.length;
    let waited = 0;
    while (children.length === spawned && waited < 10_000) {
      t.mock.timers.tick(10);
      waited += 10;
    }
    delays.push(waited);
    (children.at(-1) as FakeChild).ready();
    await Promise.resolve();
  }
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600]);
  t.mock.timers.reset();
  await Promise.all([supervisor.stop(0), Promise.resolve().then(() => children.at(-1)?.die())]);
});

it("a crashed worker's delayed replacement never takes the slot a rolling restart filled meanwhile", async () => {
  const { supervisor, children } = await supervised();
  const restart = supervisor.restart(1_000);
  const successor = children[1] as FakeChild;
  // The old worker dies young (a delayed replacement is scheduled), then the successor is ready.
  (children[0] as FakeChild).die();
  successor.ready();
  await restart;
  await new Promise((r) => setTimeout(r, 200)); // past the replacement's delay
  assert.equal(children.length, 2, "no replacement was spawned over the successor");
  assert.equal(supervisor.slots[0]?.child, successor);
  await Promise.all([supervisor.stop(0), Promise.resolve().then(() => successor.die())]);
});

it("a worker that ignores the drain is killed once the drain timeout and the grace are over", async (t) => {
  // A hung thread blocked exit before (threads had their own supervisor, without this).
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { supervisor, children } = await supervised();
  const hung = children[0] as FakeChild;
  let stopped = false;
  const stop = supervisor.stop(1_000).then(() => {
    stopped = true;
  });
  assert.deepEqual(hung.sent, [{ t: "drain", ms: 1_000 }], "told to drain");
  t.mock.timers.tick(3_999);
  await Promise.resolve();
  assert.equal(hung.exitCode, null, "not before the drain timeout and the 3 s grace");
  t.mock.timers.tick(1);
  await stop;
  assert.equal(hung.exitCode, 1, "killed (a thread: terminate())");
  assert.equal(stopped, true);
});

it("stop() with a worker that died but still looks connected: the failed write emits no error event (regression: node:cluster rethrew it)", async () => {
  const { supervisor, children } = await supervised();
  const child = children[0] as FakeChild;
  child.broken = true;
  const errors: Error[] = [];
  child.on("error", (err: Error) => errors.push(err));
  const stopped = supervisor.stop(1000);
  await new Promise((r) => setImmediate(r));
  child.die();
  await stopped;
  assert.deepEqual(errors, []);
});
