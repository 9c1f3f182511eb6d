/**
 * Everything the handoff primary knows about one worker's IPC channel, and the only code that
 * changes it. Every message that carries a handle occupies the channel until child_process's
 * internal answer, NODE_HANDLE_ACK or NODE_HANDLE_NACK, one per message and in order: `#unacked`
 * mirrors that queue. What the balancer and spill read (`ready`, `free`, `stalled`, `eligible`)
 * is derived from it, never stored.
 *
 * A NACK means the worker could not receive the descriptor (it is out of them). For the raw
 * handles handoff sends ("net.Native"), child_process neither retransmits nor closes anything:
 * the handle is still open in the primary and can go to another worker (test/nack.test.ts
 * checks this Node does so).
 */
import type { ChildProcess } from "node:child_process";
import type { Service, ToWorker } from "../../messages.ts";
import { backoffMs } from "./accept-backoff.ts";
import type { Candidate } from "./balancer.ts";
import { type Pending, type RawHandle, sendHandle } from "./handles.ts";

/** A worker whose channel has had a handle in flight this long is stalled (see balancer.ts). */
export const STALL_MS = 100;

/** A listener copy in flight: lent for a spill grant, or sent to be copied (the spare). */
export interface ListenerCopy {
  readonly lent: "grant" | "spare";
  readonly service: Service;
}

/** A handle message in flight: a connection the primary still owns, or a listener copy. */
export type Unacked = Pending | ListenerCopy;

export function isConnection(item: Unacked): item is Pending {
  return !("lent" in item);
}

/**
 * empty: no worker; ready: takes connections; draining: finishes what it has; gone: the process
 * exited or a send failed, and the channel is not closed yet (an ACK may still be in the pipe).
 */
type State = "empty" | "ready" | "draining" | "gone";

/** One service's spill grant: the listener lent to this worker, up to `ceiling` open. */
interface Grant {
  /** When the grant was last heard of; 0: this worker holds no grant. */
  heardAt: number;
  ceiling: number;
  /** The last grant ended at its ceiling (the worker says when it has room again). */
  full: boolean;
}

export class WorkerChannel implements Candidate {
  /** This channel's place among the dispatcher's (reused once its worker is gone). */
  readonly index: number;
  #worker = -1;
  #child: ChildProcess | undefined;
  #state: State = "empty";
  readonly #unacked: Unacked[] = [];
  /** When the oldest unacknowledged message was sent (for `stalled`). */
  #busySince = 0;
  /** Connections this incarnation of the worker was sent (and did not refuse). */
  #sent = 0;
  #load = 0;
  /** NACKs in a row: the back-off doubles with each. */
  #refusals = 0;
  /** Backing off after a NACK: sends nothing until it is over. */
  #pause: NodeJS.Timeout | undefined;
  readonly #grants = new Map<Service, Grant>();

  constructor(index: number) {
    this.index = index;
  }

  /** The id of the worker it carries (logged as `worker`); two channels share it in a restart. */
  get worker(): number {
    return this.#worker;
  }
  get child(): ChildProcess | undefined {
    return this.#child;
  }
  /** Alive, not draining: it may be handed connections. */
  get ready(): boolean {
    return this.#state === "ready";
  }
  /** Backing off after a NACK. */
  get paused(): boolean {
    return this.#pause !== undefined;
  }
  /** Ready and not backing off: it may be sent anything, now or once its channel is free. */
  get eligible(): boolean {
    return this.ready && !this.paused;
  }
  /** Nothing in flight and not backing off: a handle sent now goes out at once. */
  get free(): boolean {
    return this.#child !== undefined && this.#unacked.length === 0 && !this.paused;
  }
  /** Ready but unable to take a handle for a while: backing off, or an answer long overdue. */
  get stalled(): boolean {
    if (!this.ready) return false;
    if (this.paused) return true;
    return this.#unacked.length > 0 && Date.now() - this.#busySince > STALL_MS;
  }
  /** Estimated open connections: the last report plus connections sent since. */
  get load(): number {
    return this.#load;
  }

  /** A new incarnation of a worker is ready on this (empty) channel. */
  attach(child: ChildProcess, worker: number): void {
    this.#child = child;
    this.#worker = worker;
    this.#state = "ready";
    this.#load = 0;
    this.#sent = 0;
    this.#refusals = 0;
    this.#grants.clear();
  }

  /**
   * Send a message with its handle; the channel is occupied until it is answered. A send fails
   * only on a broken channel: nothing more goes to it (else a connection sent again and again
   * would spin on the next tick), and `failed` hears of it if the item was still unanswered
   * here (it is then withdrawn).
   */
  send(item: Unacked, message: ToWorker, handle: RawHandle, failed?: () => void): void {
    const child = this.#child as ChildProcess; // callers send only to a ready channel
    if (this.#unacked.length === 0) this.#busySince = Date.now();
    this.#unacked.push(item);
    if (isConnection(item)) {
      this.#sent++;
      this.#load++;
    }
    sendHandle(child, message, handle, (err) => {
      if (err === null || this.#child !== child) return;
      this.exited();
      if (this.#withdraw(item)) failed?.();
    });
  }

  /** The oldest message was taken (ACK). */
  acked(): Unacked | undefined {
    this.#refusals = 0;
    return this.#answered();
  }

  /**
   * The worker could not take the oldest message (NACK): it sends nothing for a back-off (50 ms,
   * doubling to 2 s while NACKs go on), then `resumed` is called. Returns the item and the pause.
   */
  nacked(resumed: () => void): { item: Unacked | undefined; pausedMs: number } {
    const item = this.#answered();
    if (item === undefined) return { item, pausedMs: 0 };
    if (isConnection(item)) {
      this.#sent--;
      this.#load--;
    }
    const pausedMs = backoffMs(++this.#refusals);
    clearTimeout(this.#pause);
    this.#pause = setTimeout(() => {
      this.#pause = undefined;
      resumed();
    }, pausedMs).unref();
    return { item, pausedMs };
  }

  /** The worker finishes what it has and is handed nothing new. */
  draining(): void {
    if (this.#state === "ready") this.#state = "draining";
  }

  /** The worker process exited; its channel may still deliver answers until it closes. */
  exited(): void {
    if (this.#child !== undefined) this.#state = "gone";
  }

  /** The channel closed: the channel is empty again; returns the connections never taken. */
  release(): Pending[] {
    this.#child = undefined;
    this.#state = "empty";
    clearTimeout(this.#pause);
    this.#pause = undefined;
    this.#grants.clear();
    return this.#unacked.splice(0).filter(isConnection);
  }

  /** The worker reported `open` connections having received `received` handles. */
  report(open: number, received: number): void {
    // Handles sent but not yet received when the worker counted are in flight: add them.
    this.#load = open + (this.#sent - received);
  }

  /** Lend `service`'s listener to this worker up to `ceiling` open connections. */
  grant(service: Service, ceiling: number, message: ToWorker, listener: RawHandle): void {
    this.#grants.set(service, { heardAt: Date.now(), ceiling, full: false });
    this.send({ lent: "grant", service }, message, listener);
  }
  /** Holds a grant of `service`'s listener. */
  granted(service: Service): boolean {
    return (this.#grants.get(service)?.heardAt ?? 0) !== 0;
  }
  /** The ceiling of the last grant of `service`'s listener (0: none). */
  ceiling(service: Service): number {
    return this.#grants.get(service)?.ceiling ?? 0;
  }
  /** The last grant of `service`'s listener ended at its ceiling. */
  grantWasFull(service: Service): boolean {
    return this.#grants.get(service)?.full ?? false;
  }
  /** The grant goes on (a busy window). */
  grantHeard(service: Service): void {
    const g = this.#grants.get(service);
    if (g !== undefined && g.heardAt !== 0) g.heardAt = Date.now();
  }
  /** The grant is over; `full`: at its ceiling. */
  grantOver(service: Service, full = false): void {
    const g = this.#grants.get(service);
    if (g === undefined) return;
    g.heardAt = 0;
    g.full = full;
  }
  /** Holds a grant not heard of since before `since`. */
  grantSilentSince(service: Service, since: number): boolean {
    const at = this.#grants.get(service)?.heardAt ?? 0;
    return at !== 0 && at < since;
  }

  #answered(): Unacked | undefined {
    const item = this.#unacked.shift();
    if (this.#unacked.length > 0) this.#busySince = Date.now();
    return item;
  }

  #withdraw(item: Unacked): boolean {
    const at = this.#unacked.indexOf(item);
    if (at < 0) return false;
    this.#unacked.splice(at, 1);
    if (isConnection(item)) {
      this.#sent--;
      this.#load--;
    }
    return true;
  }
}
