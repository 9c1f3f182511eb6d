/**
 * Spill: while connections arrive faster than handles can be passed, the primary stops accepting
 * and lends the listening socket to every worker at once, each accepting directly up to its own
 * ceiling (see docs/ARCHITECTURE.md). This is the policy: when to start, how far each worker may
 * go, and when to give the listener back to the primary.
 */
import type { Logger } from "../../log.ts";
import type { AcceptMessage, Service } from "../../messages.ts";
import { grantSize } from "./balancer.ts";
import { sendHandle } from "./handles.ts";
import { type Lane, occupy } from "./lane.ts";
import type { Listener } from "./listener.ts";

/** A grant smaller than this is not worth its round trip: the worker waits for the next turn. */
const GRANT_WORTHWHILE = 4;
/** A grant's window: each busy one is reported, and a quiet one ends the grant. */
const SPILL_MS = 50;
/** Connections a window must take, over all workers, for the rush to go on (~640/s). */
const SPILL_RUSH = 32;
/**
 * A grant not heard of for this long is treated as over (its worker is stuck or gone), so that
 * the others, or the primary, accept instead.
 */
const SPILL_STALE_MS = 250;

export class Spill {
  readonly #service: Service;
  readonly #lanes: readonly Lane[];
  readonly #listener: Listener;
  /** When each worker's (by lane id) grant of this listener was last heard of, or 0. */
  readonly #heardAt: number[] = [];
  /** Each worker's last ceiling (open connections), kept while it comes back from it. */
  readonly #ceiling: number[] = [];
  /** Each worker's last grant ended at its ceiling (it says when it has room again). */
  readonly #wasFull: boolean[] = [];
  readonly #log: Logger;
  /** Called when the primary accepts again. */
  readonly #onEnd: () => void;
  #active = false;
  #stopped = false;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(
    service: Service,
    lanes: readonly Lane[],
    listener: Listener,
    log: Logger,
    onEnd: () => void,
  ) {
    this.#service = service;
    this.#lanes = lanes;
    this.#listener = listener;
    this.#log = log;
    this.#onEnd = onEnd;
  }

  /** The queue is backed up: lend the listener to every worker and stop accepting here. */
  start(queued: number): void {
    if (this.#active || this.#stopped || this.#listener.spare === null) return;
    if (this.#grantAll() === 0) return;
    this.#active = true;
    // A primary that kept polling would win most accept races and the queue would never drain.
    this.#listener.pause();
    this.#watchdog = setInterval(() => this.#expireGrants(), SPILL_MS);
    this.#log.debug({ queued, service: this.#service }, "spill: workers accept directly");
  }

  /** A worker's grant goes on after a busy window. */
  busy(lane: Lane): void {
    if (this.#granted(lane)) this.#heardAt[lane.id] = Date.now();
  }

  /**
   * A worker's grant is over: a quiet window (the rush is over for it), or its ceiling. A busy or
   * full return lends the listener again to every worker that balance allows (a full one too,
   * once the others have caught up: that is how ceilings rise with long-lived connections).
   */
  returned(lane: Lane, accepted: number, full: boolean): void {
    this.#heardAt[lane.id] = 0;
    this.#wasFull[lane.id] = full;
    if (this.#active && (full || accepted >= this.#rushEach())) this.#grantAll();
    this.#maybeEnd();
  }

  /**
   * A worker reported its load. One whose grant ended at its ceiling reports as soon as a quarter
   * of its room is free again (lent-listener.ts): it gets the same ceiling back, or a higher one,
   * whatever our older view of the other workers' loads says.
   */
  reported(lane: Lane): void {
    if (this.#active && this.#wasFull[lane.id] === true) this.#grant(lane, true);
  }

  /** A worker exited; its grant, if any, is over. */
  laneGone(lane: Lane): void {
    this.#heardAt[lane.id] = 0;
    this.#maybeEnd();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#watchdog);
  }

  /**
   * Lend the listener to every worker that balance allows. The kernel wakes each of them for a
   * connection and the first to accept takes it: a busy worker is not polling, so connections go
   * to the ones with time for them, and the ceilings keep the open counts even.
   */
  #grantAll(): number {
    let granted = 0;
    for (const lane of this.#lanes) if (this.#grant(lane)) granted++;
    return granted;
  }

  /**
   * Lend the listener to a worker, up to as many open connections as balance allows; `keep`: at
   * least up to its last ceiling (it is coming back from it, and our view of the others' loads
   * may be 100 ms old).
   */
  #grant(lane: Lane, keep = false): boolean {
    const child = lane.child;
    const spare = this.#listener.spare;
    if (child === undefined || !lane.ready || lane.paused || this.#granted(lane) || spare === null)
      return false;
    let room = grantSize(this.#lanes, lane);
    if (keep) room = Math.max(room, (this.#ceiling[lane.id] ?? 0) - lane.load);
    if (room < (keep ? 1 : GRANT_WORTHWHILE)) return false;
    this.#ceiling[lane.id] = lane.load + room;
    this.#wasFull[lane.id] = false;
    this.#heardAt[lane.id] = Date.now();
    occupy(lane, { lent: "accept", service: this.#service });
    const accept: AcceptMessage = {
      t: "accept",
      s: this.#service,
      maxOpen: lane.load + room,
      ms: SPILL_MS,
      rush: this.#rushEach(),
    };
    sendHandle(child, accept, spare);
    return true;
  }

  /** A window's share of the rush, per worker: they all accept, each about an even share. */
  #rushEach(): number {
    let n = 0;
    for (const lane of this.#lanes) if (lane.ready && !lane.paused) n++;
    return Math.ceil(SPILL_RUSH / Math.max(1, n));
  }

  #expireGrants(): void {
    const now = Date.now();
    for (const lane of this.#lanes) {
      const at = this.#heardAt[lane.id] ?? 0;
      if (at !== 0 && now - at > SPILL_STALE_MS) {
        this.#log.warn(
          { worker: lane.worker, service: this.#service },
          "spill grant not returned; going on without it",
        );
        this.#heardAt[lane.id] = 0;
      }
    }
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (!this.#active || this.#lanes.some((l) => this.#granted(l))) return;
    this.#active = false;
    clearInterval(this.#watchdog);
    if (this.#stopped) return;
    const err = this.#listener.resume();
    if (err !== 0) this.#log.error({ err }, "cannot resume accepting on the listener");
    this.#log.debug({ service: this.#service }, "spill over: handoff resumes");
    this.#onEnd();
  }

  #granted(lane: Lane): boolean {
    return (this.#heardAt[lane.id] ?? 0) !== 0;
  }
}
