/**
 * The spill policy against generated sequences of what workers can say (seeded, bounded): the
 * primary stops accepting exactly while some worker holds a grant, no worker gets a second grant
 * while it holds one, every grant leaves room and stays within balance, and once every worker
 * has come back quiet the primary accepts again.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createLogger } from "../src/log.ts";
import { GRANT_MAX, minLoad } from "../src/main/handoff/balancer.ts";
import { WorkerChannel } from "../src/main/handoff/channel.ts";
import { Listener } from "../src/main/handoff/listener.ts";
import { Spill } from "../src/main/handoff/spill.ts";
import type { AcceptMessage, ToWorker } from "../src/messages.ts";
import { FakeHandle } from "./helpers/handoff-fakes.ts";

const SEED = 20261202;
const RUNS = 400;

type Event =
  | { readonly k: "start" }
  | { readonly k: "return"; readonly w: number; readonly accepted: number; readonly full: boolean }
  | { readonly k: "busy"; readonly w: number }
  | { readonly k: "load"; readonly w: number; readonly delta: number }
  | { readonly k: "gone"; readonly w: number };

const event = (workers: number): fc.Arbitrary<Event> => {
  const w = fc.nat(workers - 1);
  return fc.oneof(
    fc.constant({ k: "start" } as const),
    fc.record({
      k: fc.constant("return" as const),
      w,
      accepted: fc.oneof(fc.nat(40), fc.constant(0)),
      full: fc.boolean(),
    }),
    fc.record({ k: fc.constant("busy" as const), w }),
    fc.record({ k: fc.constant("load" as const), w, delta: fc.integer({ min: -12, max: 12 }) }),
    fc.record({ k: fc.constant("gone" as const), w }),
  );
};

const scenario = fc.integer({ min: 1, max: 4 }).chain((workers) =>
  fc.record({
    loads: fc.array(fc.oneof(fc.nat(12), fc.nat(300)), { minLength: workers, maxLength: workers }),
    events: fc.array(event(workers), { minLength: 5, maxLength: 80, size: "max" }),
  }),
);

/** A spill over stand-in workers, and what the test knows each one holds. */
class World {
  readonly channels: WorkerChannel[];
  readonly sent: AcceptMessage[][];
  readonly granted: boolean[];
  readonly ceiling: number[];
  readonly listener: Listener;
  polled: FakeHandle;
  readonly spill: Spill;
  ends = 0;

  constructor(loads: readonly number[]) {
    this.polled = new FakeHandle();
    this.listener = new Listener(this.polled, 64, () => {});
    this.#newSpare();
    this.sent = loads.map(() => []);
    this.granted = loads.map(() => false);
    this.ceiling = loads.map(() => 0);
    this.channels = loads.map((load, id) => {
      const channel = new WorkerChannel(id);
      const child = {
        send: (m: ToWorker, handle: unknown) => this.#received(id, m, handle),
      } as unknown as ChildProcess;
      channel.attach(child, id);
      channel.report(load, 0);
      return channel;
    });
    this.spill = new Spill("echo", this.channels, this.listener, createLogger("silent"), () => {
      // As the dispatcher does: the spare is polled now; ask for a new one.
      this.ends++;
      this.polled = this.#lentCopy ?? this.polled;
      this.#newSpare();
    });
  }

  #lentCopy: FakeHandle | null = null;

  #newSpare(): void {
    assert.equal(this.listener.requestSpare(0), this.polled);
    const spare = new FakeHandle();
    this.listener.spareArrived(spare);
    this.#lentCopy = spare;
  }

  #received(id: number, m: ToWorker, handle: unknown): boolean {
    assert.equal(m.t, "accept");
    const accept = m as AcceptMessage;
    const channel = this.channels[id] as WorkerChannel;
    assert.equal(this.granted[id], false, `worker ${id} was lent the listener twice`);
    assert.equal(handle, this.listener.spare, "the spare copy is what is lent");
    assert.ok(
      accept.maxOpen > channel.load,
      `a grant with no room: ${accept.maxOpen} ≤ ${channel.load}`,
    );
    const bound = Math.max(this.ceiling[id] as number, minLoad(this.channels) + GRANT_MAX);
    assert.ok(accept.maxOpen <= bound, `ceiling ${accept.maxOpen} over ${bound}`);
    const ready = this.channels.filter((l) => l.ready && !l.paused).length;
    assert.equal(accept.rush, Math.ceil(32 / ready));
    this.granted[id] = true;
    this.ceiling[id] = accept.maxOpen;
    (this.sent[id] as AcceptMessage[]).push(accept);
    return true;
  }

  apply(e: Event): void {
    const channel = this.channels[e.k === "start" ? 0 : e.w] as WorkerChannel;
    switch (e.k) {
      case "start":
        this.spill.start(4);
        return;
      case "return":
        if (!this.granted[channel.index]) return; // a worker reports only a grant it holds
        this.granted[channel.index] = false;
        // It accepted some while it held the grant; at its ceiling it holds exactly that.
        channel.report(e.full ? (this.ceiling[channel.index] as number) : channel.load, 0);
        this.spill.returned(channel, e.accepted, e.full);
        return;
      case "busy":
        if (this.granted[channel.index]) this.spill.busy(channel);
        return;
      case "load":
        if (channel.child === undefined) return;
        // Connections close, or (held grant) open up to its ceiling.
        channel.report(Math.max(0, channel.load + e.delta), 0);
        if (this.granted[channel.index])
          channel.report(Math.min(channel.load, (this.ceiling[channel.index] as number) - 1), 0);
        this.spill.reported(channel);
        return;
      case "gone":
        if (channel.child === undefined) return;
        channel.exited();
        channel.release();
        this.granted[channel.index] = false;
        this.spill.channelGone();
        return;
    }
  }

  /** The primary's own copy is closed exactly while some worker holds the listener. */
  check(): void {
    const anyGranted = this.granted.some(Boolean);
    assert.equal(this.polled.closed, anyGranted, "the primary accepts iff no worker holds a grant");
  }
}

describe("spill, against generated worker reports", () => {
  it(`keeps its invariants over ${RUNS} sequences (seed ${SEED})`, () => {
    let grants = 0;
    let ends = 0;
    fc.assert(
      fc.property(scenario, ({ loads, events }) => {
        const world = new World(loads);
        for (const e of [{ k: "start" } as const, ...events]) {
          world.apply(e);
          world.check();
        }
        // Every worker still holding a grant comes back quiet: the spill must end.
        for (const channel of world.channels) {
          if (world.granted[channel.index])
            world.apply({ k: "return", w: channel.index, accepted: 0, full: false });
        }
        world.check();
        assert.equal(world.polled.closed, false, "the primary accepts again");
        world.spill.stop();
        grants += world.sent.flat().length;
        ends += world.ends;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.ok(grants > RUNS && ends > RUNS, `reached: ${grants} grants, ${ends} ends`);
  });
});
