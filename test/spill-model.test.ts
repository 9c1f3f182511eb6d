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
import { type Lane, newLane, resetLane } from "../src/main/handoff/lane.ts";
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
  readonly lanes: Lane[];
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
    this.lanes = loads.map((load, id) => {
      const lane = newLane(id);
      const child = {
        send: (m: ToWorker, handle: unknown) => this.#received(id, m, handle),
      } as unknown as ChildProcess;
      resetLane(lane, child, id);
      lane.load = load;
      return lane;
    });
    this.spill = new Spill("echo", this.lanes, this.listener, createLogger("silent"), () => {
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
    const lane = this.lanes[id] as Lane;
    assert.equal(this.granted[id], false, `worker ${id} was lent the listener twice`);
    assert.equal(handle, this.listener.spare, "the spare copy is what is lent");
    assert.ok(accept.maxOpen > lane.load, `a grant with no room: ${accept.maxOpen} ≤ ${lane.load}`);
    const bound = Math.max(this.ceiling[id] as number, minLoad(this.lanes) + GRANT_MAX);
    assert.ok(accept.maxOpen <= bound, `ceiling ${accept.maxOpen} over ${bound}`);
    const ready = this.lanes.filter((l) => l.ready && !l.paused).length;
    assert.equal(accept.rush, Math.ceil(32 / ready));
    this.granted[id] = true;
    this.ceiling[id] = accept.maxOpen;
    (this.sent[id] as AcceptMessage[]).push(accept);
    return true;
  }

  apply(e: Event): void {
    const lane = this.lanes[e.k === "start" ? 0 : e.w] as Lane;
    switch (e.k) {
      case "start":
        this.spill.start(4);
        return;
      case "return":
        if (!this.granted[lane.id]) return; // a worker reports only a grant it holds
        this.granted[lane.id] = false;
        // It accepted some while it held the grant; at its ceiling it holds exactly that.
        lane.load = e.full ? (this.ceiling[lane.id] as number) : lane.load;
        this.spill.returned(lane, e.accepted, e.full);
        return;
      case "busy":
        if (this.granted[lane.id]) this.spill.busy(lane);
        return;
      case "load":
        if (lane.child === undefined) return;
        // Connections close, or (held grant) open up to its ceiling.
        lane.load = Math.max(0, lane.load + e.delta);
        if (this.granted[lane.id])
          lane.load = Math.min(lane.load, (this.ceiling[lane.id] as number) - 1);
        this.spill.reported(lane);
        return;
      case "gone":
        if (lane.child === undefined) return;
        lane.child = undefined;
        lane.ready = false;
        this.granted[lane.id] = false;
        this.spill.laneGone(lane);
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
        for (const lane of world.lanes) {
          if (world.granted[lane.id])
            world.apply({ k: "return", w: lane.id, accepted: 0, full: false });
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
