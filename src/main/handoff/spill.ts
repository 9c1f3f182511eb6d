/**
 * Spill: while connections arrive faster than handles can be passed, the primary stops accepting
 * and lends the listening socket to every worker at once, each accepting directly up to its own
 * ceiling (see docs/ARCHITECTURE.md). This is the policy: when to start, how far each worker may
 * go, and when to give the listener back to the primary.
 */
import { LINES, type Logger } from "../../log.ts";
import type { AcceptMessage, Service } from "../../messages.ts";
import { grantSize } from "./balancer.ts";
import type { WorkerChannel } from "./channel.ts";
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
  /** Each worker's grant (when heard of, ceiling, ended full) is kept on its channel. */
  readonly #channels: readonly WorkerChannel[];
  readonly #listener: Listener;
  readonly #log: Logger;
  /** Called when the primary accepts again. */
  readonly #onEnd: () => void;
  #active = false;
  #stopped = false;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(
    service: Service,
    channels: readonly WorkerChannel[],
    listener: Listener,
    log: Logger,
    onEnd: () => void,
  ) {
    this.#service = service;
    this.#channels = channels;
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
    this.#log.debug({ queued, service: this.#service }, LINES.spillStarted);
  }

  /** A worker's grant goes on after a busy window. */
  busy(channel: WorkerChannel): void {
    channel.grantHeard(this.#service);
  }

  /**
   * A worker's grant is over: a quiet window (the rush is over for it), or its ceiling. A busy or
   * full return lends the listener again to every worker that balance allows (a full one too,
   * once the others have caught up: that is how ceilings rise with long-lived connections).
   */
  returned(channel: WorkerChannel, accepted: number, full: boolean): void {
    channel.grantOver(this.#service, full);
    if (this.#active && (full || accepted >= this.#rushEach())) this.#grantAll();
    this.#maybeEnd();
  }

  /**
   * A worker reported its load. One whose grant ended at its ceiling reports as soon as a quarter
   * of its room is free again (lent-listener.ts): it gets the same ceiling back, or a higher one,
   * whatever our older view of the other workers' loads says.
   */
  reported(channel: WorkerChannel): void {
    if (this.#active && channel.grantWasFull(this.#service)) this.#grant(channel, true);
  }

  /** A worker's channel closed, and with it any grant it held. */
  channelGone(): void {
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
    for (const channel of this.#channels) if (this.#grant(channel)) granted++;
    return granted;
  }

  /**
   * Lend the listener to a worker, up to as many open connections as balance allows; `keep`: at
   * least up to its last ceiling (it is coming back from it, and our view of the others' loads
   * may be 100 ms old).
   */
  #grant(channel: WorkerChannel, keep = false): boolean {
    const service = this.#service;
    const spare = this.#listener.spare;
    if (!channel.eligible || channel.granted(service) || spare === null) return false;
    let room = grantSize(this.#channels, channel);
    if (keep) room = Math.max(room, channel.ceiling(service) - channel.load);
    if (room < (keep ? 1 : GRANT_WORTHWHILE)) return false;
    const maxOpen = channel.load + room;
    const accept: AcceptMessage = {
      t: "accept",
      s: service,
      maxOpen,
      ms: SPILL_MS,
      rush: this.#rushEach(),
    };
    channel.grant(service, maxOpen, accept, spare);
    return true;
  }

  /** A window's share of the rush, per worker: they all accept, each about an even share. */
  #rushEach(): number {
    let n = 0;
    for (const channel of this.#channels) if (channel.eligible) n++;
    return Math.ceil(SPILL_RUSH / Math.max(1, n));
  }

  #expireGrants(): void {
    const since = Date.now() - SPILL_STALE_MS;
    for (const channel of this.#channels) {
      if (channel.grantSilentSince(this.#service, since)) {
        this.#log.warn(
          { worker: channel.worker, service: this.#service },
          "spill grant not returned; going on without it",
        );
        channel.grantOver(this.#service);
      }
    }
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (!this.#active || this.#channels.some((c) => c.granted(this.#service))) return;
    this.#active = false;
    clearInterval(this.#watchdog);
    if (this.#stopped) return;
    const err = this.#listener.resume();
    if (err !== 0) this.#log.error({ err }, "cannot resume accepting on the listener");
    this.#log.debug({ service: this.#service }, "spill over: handoff resumes");
    this.#onEnd();
  }
}
