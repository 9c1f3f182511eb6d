/**
 * Spill: while connections arrive faster than handles can be passed, the primary stops accepting
 * and lends the listening socket to one worker at a time, which accepts directly (see
 * docs/ARCHITECTURE.md). This is the policy: when to start, whom to lend to and for how much,
 * and when to give the listener back to the primary.
 */
import type { Logger } from "../../log.ts";
import type { AcceptMessage, Service } from "../../messages.ts";
import { grantSize } from "./balancer.ts";
import { sendHandle } from "./handles.ts";
import { type Lane, occupy } from "./lane.ts";
import type { Listener } from "./listener.ts";

/** A grant smaller than this is not worth its round trip: the worker waits for the next turn. */
const GRANT_WORTHWHILE = 4;
/** How long a grant lasts. */
const SPILL_MS = 50;
/** Connections accepted in one grant's time that show the rush goes on (~640/s per worker). */
const SPILL_RUSH = 32;
/**
 * A grant not reported back after this long is treated as over (its worker is stuck or gone), so
 * that another worker, or the primary, accepts instead.
 */
const SPILL_STALE_MS = 250;

export class Spill {
  readonly #service: Service;
  readonly #lanes: readonly Lane[];
  readonly #listener: Listener;
  /** When each worker's (by lane id) current grant of this listener started, or 0. */
  readonly #grantedAt: number[] = [];
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

  /** The queue is backed up: lend the listener to a worker and stop accepting here. */
  start(queued: number): void {
    if (this.#active || this.#stopped || this.#listener.spare === null) return;
    if (!this.#grantLeast(-1)) return;
    this.#active = true;
    // A primary that kept polling would win most accept races and the queue would never drain.
    this.#listener.pause();
    this.#watchdog = setInterval(() => this.#expireGrants(), SPILL_MS);
    this.#log.debug({ queued, service: this.#service }, "spill: workers accept directly");
  }

  /** A worker's grant is over. */
  returned(lane: Lane, accepted: number, full: boolean): void {
    this.#grantedAt[lane.id] = 0;
    // While the rush goes on, lend the listener again, to whoever is least loaded now.
    if (this.#active && (full || accepted >= SPILL_RUSH)) this.#grantLeast(lane.id);
    this.#maybeEnd();
  }

  /** A worker exited; its grant, if any, is over. */
  laneGone(lane: Lane): void {
    this.#grantedAt[lane.id] = 0;
    this.#maybeEnd();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#watchdog);
  }

  /**
   * Lend the listener to the least loaded worker that balance allows (on a tie, the next one
   * after `after`). One worker accepts at a time: on a shared listening socket every poller is
   * woken for every connection and all but one find nothing, so a single acceptor spares the
   * others those wake-ups, and taking turns by load keeps the balance.
   */
  #grantLeast(after: number): boolean {
    const lanes = this.#lanes;
    const order = [...lanes.keys()].map((i) => (after + 1 + i) % lanes.length);
    order.sort((a, b) => (lanes[a] as Lane).load - (lanes[b] as Lane).load);
    for (const i of order) if (this.#grant(lanes[i] as Lane)) return true;
    return false;
  }

  /** Lend the listener to a worker, up to as many open connections as balance allows. */
  #grant(lane: Lane): boolean {
    const child = lane.child;
    const spare = this.#listener.spare;
    if (child === undefined || !lane.ready || lane.paused || this.#granted(lane) || spare === null)
      return false;
    const room = grantSize(this.#lanes, lane);
    if (room < GRANT_WORTHWHILE) return false;
    this.#grantedAt[lane.id] = Date.now();
    occupy(lane, { lent: "accept", service: this.#service });
    const accept: AcceptMessage = {
      t: "accept",
      s: this.#service,
      maxOpen: lane.load + room,
      ms: SPILL_MS,
    };
    sendHandle(child, accept, spare);
    return true;
  }

  #expireGrants(): void {
    const now = Date.now();
    for (const lane of this.#lanes) {
      const at = this.#grantedAt[lane.id] ?? 0;
      if (at !== 0 && now - at > SPILL_STALE_MS) {
        this.#log.warn(
          { worker: lane.worker, service: this.#service },
          "spill grant not returned; going on without it",
        );
        this.#grantedAt[lane.id] = 0;
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
    return (this.#grantedAt[lane.id] ?? 0) !== 0;
  }
}
