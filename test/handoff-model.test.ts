/**
 * Handoff's central promise, against generated histories (seeded, bounded): every connection the
 * primary accepts reaches exactly one worker, whatever the workers answer (ACK, NACK), report,
 * or do (drain, exit, lose their channel, fail a send), in any order child_process allows. At
 * every step: a connection is in flight to at most one worker, and only to a ready one whose
 * channel was free; the primary closes its copy exactly when a worker has taken it. At the end,
 * once a live worker answers everything, nothing is left and nothing was delivered twice.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createLogger } from "../src/log.ts";
import { Dispatcher } from "../src/main/handoff/dispatcher.ts";
import type { ToWorker } from "../src/messages.ts";
import { FakeHandle } from "./helpers/handoff-fakes.ts";

const SEED = 20261206;
const RUNS = 300;

class Conn extends FakeHandle {
  closes = 0;
  override close(): void {
    this.closes++;
    super.close();
  }
}

type Done = ((err: Error | null) => void) | undefined;

/** A worker process: what it was sent and not yet answered, and how far it is from alive. */
class Child extends EventEmitter {
  connected = true;
  /** 'disconnect' was emitted. */
  closed = false;
  exited = false;
  draining = false;
  readonly unanswered: { message: ToWorker; handle: unknown; done: Done }[] = [];
  readonly world: World;
  readonly id: number;
  constructor(world: World, id: number) {
    super();
    this.world = world;
    this.id = id;
  }
  send(message: ToWorker, handle: unknown, _options: unknown, done: Done): boolean {
    if (!this.connected) {
      // child_process: ERR_IPC_CHANNEL_CLOSED, on the next tick.
      this.world.nextTick(() => done?.(new Error("channel closed")));
      return false;
    }
    if (message.t === "conn") this.world.sentConn(this, handle as Conn);
    this.unanswered.push({ message, handle, done });
    return true;
  }
  get asChild(): ChildProcess {
    return this as unknown as ChildProcess;
  }
}

type Event =
  | { readonly k: "connect" }
  | { readonly k: "attach" }
  | { readonly k: "ack" | "nack" | "drain" | "exit" | "disconnect" | "break"; readonly w: number }
  | { readonly k: "load"; readonly w: number; readonly open: number }
  | { readonly k: "tick"; readonly ms: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  { arbitrary: fc.constant({ k: "connect" } as const), weight: 4 },
  { arbitrary: fc.constant({ k: "attach" } as const), weight: 1 },
  {
    arbitrary: fc.record({ k: fc.constantFrom("ack" as const, "nack" as const), w: fc.nat(7) }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      k: fc.constantFrom(
        "drain" as const,
        "exit" as const,
        "disconnect" as const,
        "break" as const,
      ),
      w: fc.nat(7),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ k: fc.constant("load" as const), w: fc.nat(7), open: fc.nat(30) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ k: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 400 }) }),
    weight: 2,
  },
);

class World {
  readonly polled = new FakeHandle();
  readonly dispatcher: Dispatcher;
  readonly children: Child[] = [];
  readonly accepted: Conn[] = [];
  readonly deliveredTo = new Map<Conn, Child>();
  /** Connections refused (NACK), and in flight when their channel closed: handed out again. */
  refused = 0;
  orphaned = 0;
  readonly #ticks: (() => void)[] = [];
  #nextWorker = 0;

  constructor(workers: number) {
    this.dispatcher = new Dispatcher(
      { echo: this.polled, http: null },
      { policy: "least-connections", spill: false, backlog: 64 },
      createLogger("silent"),
    );
    for (let i = 0; i < workers; i++) this.attach();
  }

  nextTick(fn: () => void): void {
    this.#ticks.push(fn);
  }

  /** Run what was deferred; a send that fails again and again would never let the loop go on. */
  flush(): void {
    for (let n = 0; this.#ticks.length > 0; n++) {
      assert.ok(n < 1_000, "a busy loop of failing sends: the event loop would never go on");
      (this.#ticks.shift() as () => void)();
    }
  }

  attach(): void {
    const child = new Child(this, this.#nextWorker++);
    this.children.push(child);
    this.dispatcher.attach(child.id, child.asChild);
  }

  sentConn(child: Child, conn: Conn): void {
    assert.ok(!child.exited && !child.draining, "a connection sent to a worker that is not ready");
    assert.equal(child.unanswered.length, 0, "a connection sent behind another handle");
    assert.ok(!this.deliveredTo.has(conn), "a connection handed out after a worker took it");
    for (const c of this.children)
      assert.ok(!c.unanswered.some((u) => u.handle === conn), "in flight to two workers at once");
  }

  apply(e: Event): void {
    if (e.k === "connect") {
      const conn = new Conn();
      this.accepted.push(conn);
      this.polled.onconnection?.(0, conn);
    } else if (e.k === "attach") {
      if (this.children.filter((c) => !c.exited).length < 4) this.attach();
    } else if (e.k === "tick") {
      this.clock(e.ms);
    } else if (e.k === "load") {
      const child = this.#child(e.w);
      if (child?.connected)
        this.dispatcher.message(child.asChild, { t: "load", open: e.open, received: 0 }, undefined);
    } else {
      const child = this.#child(e.w);
      if (child !== undefined) this.#life(child, e.k);
    }
    this.flush();
    this.check();
  }

  clock: (ms: number) => void = () => {};

  #child(w: number): Child | undefined {
    return this.children[w % Math.max(1, this.children.length)];
  }

  #life(child: Child, k: "ack" | "nack" | "drain" | "exit" | "disconnect" | "break"): void {
    if (k === "ack" || k === "nack") {
      if (!child.connected) return;
      const sent = child.unanswered.shift();
      if (sent === undefined) return;
      child.emit("internalMessage", { cmd: k === "ack" ? "NODE_HANDLE_ACK" : "NODE_HANDLE_NACK" });
      if (sent.message.t !== "conn") return;
      const conn = sent.handle as Conn;
      if (k === "ack") {
        assert.equal(conn.closes, 1, "the primary's copy is closed once the worker has it");
        this.deliveredTo.set(conn, child);
      } else {
        assert.equal(conn.closes, 0, "a refused connection is still open in the primary");
        this.refused++;
      }
    } else if (k === "drain") {
      if (!child.connected || child.exited) return;
      child.draining = true;
      this.dispatcher.message(child.asChild, { t: "draining" }, undefined);
    } else if (k === "exit") {
      if (child.exited) return;
      child.exited = true;
      this.dispatcher.detach(child.asChild); // what the supervisor does on 'exit'
    } else if (k === "break") {
      // A write to the channel fails: what it carried is never answered, and each send in
      // flight hears so on a later tick; 'disconnect' comes later still (a "disconnect" event).
      if (!child.connected) return;
      child.connected = false;
      for (const u of this.#lost(child)) this.nextTick(() => u.done?.(new Error("EPIPE")));
    } else {
      // The channel closes, after everything in it was read.
      if (child.closed) return;
      child.connected = false;
      child.closed = true;
      this.#lost(child);
      child.emit("disconnect");
    }
  }

  #lost(child: Child): Child["unanswered"] {
    const lost = child.unanswered.splice(0);
    this.orphaned += lost.filter((u) => u.message.t === "conn").length;
    return lost;
  }

  check(): void {
    for (const conn of this.accepted) {
      assert.ok(conn.closes <= 1, "closed twice");
      assert.equal(conn.closes === 1, this.deliveredTo.has(conn), "closed iff a worker took it");
    }
  }

  /** Every worker that is left exits; a new one takes and answers everything. */
  settle(): void {
    for (const child of [...this.children]) {
      if (!child.exited) this.#life(child, "exit");
      this.#life(child, "disconnect");
    }
    this.attach();
    const last = this.children.at(-1) as Child;
    for (let round = 0; round < 100; round++) {
      this.clock(2_500); // past any back-off and the stall check
      this.flush();
      while (last.unanswered.length > 0) this.#life(last, "ack");
      this.flush();
      if (this.dispatcher.queued === 0 && last.unanswered.length === 0) break;
    }
    this.check();
    for (const conn of this.accepted)
      assert.ok(this.deliveredTo.has(conn), "a connection accepted and never handed out");
  }
}

describe("handoff, against generated worker histories", () => {
  it(`hands every connection to exactly one worker over ${RUNS} histories (seed ${SEED})`, (t) => {
    let delivered = 0;
    let refused = 0;
    let orphaned = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(event, { minLength: 20, maxLength: 150 }),
        (workers, events) => {
          t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1e12 });
          try {
            const world = new World(workers);
            world.clock = (ms) => t.mock.timers.tick(ms);
            for (const e of events) world.apply(e);
            world.settle();
            delivered += world.deliveredTo.size;
            refused += world.refused;
            orphaned += world.orphaned;
          } finally {
            t.mock.timers.reset();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    const reached = `reached: ${delivered} delivered, ${refused} refused, ${orphaned} orphaned`;
    assert.ok(delivered > RUNS * 5 && refused > RUNS && orphaned > RUNS / 2, reached);
  });
});
