/**
 * The handoff primary's accept loop. It accepts on the listening socket and hands each raw
 * connection handle to a worker over that worker's IPC channel, following docs/ARCHITECTURE.md:
 *
 * - A channel carries one handle per round trip (child_process holds everything behind a sent
 *   handle until the worker's internal NODE_HANDLE_ACK), so a handle goes only to a worker whose
 *   channel is free; otherwise it waits in one FIFO queue (queue.ts). No application-level reply
 *   is awaited: the internal acknowledgement frees the channel.
 * - The primary keeps its copy of a handle open until that acknowledgement, so a handle whose send
 *   fails, or whose worker dies before taking it, goes to another worker.
 * - When the queue backs up, spill.ts lends the listener to the workers until the rush is over.
 */
import type { ChildProcess } from "node:child_process";
import type { Logger } from "../../log.ts";
import type { FromWorker, Service } from "../../messages.ts";
import type { Balance } from "../config/config.ts";
import { handoffHistogram } from "../metrics.ts";
import { AcceptBackoff } from "./accept-backoff.ts";
import type { RawHandle, TcpHandle } from "./handles.ts";
import { answered, isConnection, type Lane, newLane, refusalPauseMs, resetLane } from "./lane.ts";
import { HandoffQueue } from "./queue.ts";
import { ServiceListener } from "./service-listener.ts";

/** Queue length, per worker, at which the primary starts lending the listener (spill). */
const SPILL_QUEUE_PER_WORKER = 2;

/** The listening sockets: TCP echo, and HTTP when it is on. */
export interface Listeners {
  readonly echo: TcpHandle;
  readonly http: TcpHandle | null;
}
const SERVICES: readonly Service[] = ["echo", "http"];

export class Dispatcher {
  readonly #lanes: Lane[] = [];
  readonly #byChild = new Map<ChildProcess, Lane>();
  readonly #queue: HandoffQueue;
  readonly #log: Logger;
  /** One listening socket per service that is on. */
  readonly #listeners = new Map<Service, ServiceListener>();
  /** Handles a worker out of descriptors could not take (NACKed); each went elsewhere. */
  #refused = 0;
  readonly #accept: AcceptBackoff;

  /** From accept to the worker's acknowledgement, per connection handed off (/metrics). */
  readonly handoffSeconds = handoffHistogram();

  constructor(
    listeners: Listeners,
    { policy, spill, backlog }: { policy: Balance; spill: boolean; backlog: number },
    log: Logger,
  ) {
    this.#queue = new HandoffQueue(this.#lanes, policy);
    this.#log = log;
    this.#accept = new AcceptBackoff(log);
    const shared = { lanes: this.#lanes, accept: this.#accept, log };
    for (const service of SERVICES) {
      const handle = listeners[service];
      if (handle === null) continue;
      const listener = new ServiceListener(service, handle, { backlog, spill }, shared, (conn) =>
        this.#onConnection(conn, listener),
      );
      this.#listeners.set(service, listener);
    }
  }

  /** Handles workers refused, out of descriptors, so far (for /metrics). */
  get refused(): number {
    return this.#refused;
  }

  /** Workers backing off after refusing a handle: they get nothing now (for /readyz). */
  get outOfDescriptors(): number {
    // Ready ones only: a dead worker's lane waits for its channel to close, paused or not, and
    // the supervisor no longer counts it.
    return this.#lanes.filter((l) => l.ready && l.paused).length;
  }

  /** Accept errors on the listeners so far (for /metrics). */
  get acceptErrors(): number {
    return this.#accept.errors;
  }

  /** Connections accepted and waiting for a worker's channel. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Worker `worker` (new, a replacement, or the successor in a rolling restart, which runs beside
   * its predecessor for a while) is ready: it gets a lane, the first one whose worker is gone.
   */
  attach(worker: number, child: ChildProcess): void {
    let lane = this.#lanes.find((l) => l.child === undefined);
    if (lane === undefined) {
      lane = newLane(this.#lanes.length);
      this.#lanes.push(lane);
    }
    resetLane(lane, child, worker);
    this.#byChild.set(child, lane);
    child.on("internalMessage", (message: { cmd?: string } | null) => {
      if (lane.child !== child) return;
      if (message?.cmd === "NODE_HANDLE_ACK") this.#acknowledged(lane);
      else if (message?.cmd === "NODE_HANDLE_NACK") this.#refusedBy(lane);
    });
    for (const listener of this.#listeners.values()) listener.askForSpare();
    this.#queue.pump();
  }

  #acknowledged(lane: Lane): void {
    lane.refusals = 0;
    const item = answered(lane);
    if (item !== undefined && isConnection(item)) {
      // The worker holds its own descriptor now; ours can go.
      item.handle.close();
      this.handoffSeconds.observe((performance.now() - item.at) / 1000);
    }
    if (lane.free) this.#queue.pump();
  }

  /**
   * The worker, out of descriptors, could not take the oldest handle (NACK). The handle is still
   * ours and open: a connection goes back to the head of the queue, a listener copy stays here.
   * The lane sends nothing for a while (50 ms, doubling to 2 s while NACKs go on) so the worker
   * can free descriptors and the others take the connections.
   */
  #refusedBy(lane: Lane): void {
    const item = answered(lane);
    if (item === undefined) return;
    this.#refused++;
    lane.refusals++;
    lane.paused = true;
    lane.free = false;
    const pausedMs = refusalPauseMs(lane);
    if (isConnection(item)) {
      lane.sent--;
      lane.load--;
      this.#queue.unshift(item);
    } else {
      this.#listeners.get(item.service)?.refused(lane, item);
    }
    this.#log.warn(
      { worker: lane.worker, refused: this.#refused, pausedMs },
      "a worker out of descriptors could not take a handle; it goes to another worker",
    );
    const child = lane.child;
    setTimeout(() => {
      if (lane.child !== child) return;
      lane.paused = false;
      lane.free = lane.unacked.length === 0;
      this.#queue.pump(); // connections first; a spare request may wait behind one
      for (const listener of this.#listeners.values()) listener.askForSpare();
    }, pausedMs).unref();
    this.#queue.pump();
  }

  /**
   * A worker exited. What it had not acknowledged goes to another worker, but only once its
   * channel is closed: an ACK it sent before dying can still be in the pipe when 'exit' comes,
   * and a connection it took (and may have read from) must not be handed out a second time.
   */
  detach(child: ChildProcess): void {
    const lane = this.#byChild.get(child);
    if (lane === undefined) return;
    lane.ready = false;
    lane.free = false;
    const release = () => this.#release(lane, child);
    if (!child.connected) {
      release();
      return;
    }
    child.once("disconnect", release);
    // Should the channel outlive the process (a descendant holding it), do not wait for ever.
    setTimeout(release, 1_000).unref();
  }

  #release(lane: Lane, child: ChildProcess): void {
    if (this.#byChild.get(child) !== lane) return;
    this.#byChild.delete(child);
    lane.child = undefined;
    const orphans = lane.unacked.splice(0).filter(isConnection);
    if (orphans.length > 0) {
      this.#log.warn(
        { worker: lane.worker, connections: orphans.length },
        "re-dispatching handles of a dead worker",
      );
      this.#queue.unshift(...orphans);
    }
    for (const listener of this.#listeners.values()) listener.laneGone(lane);
    this.#queue.pump();
  }

  message(child: ChildProcess, message: FromWorker, handle: object | undefined): void {
    const lane = this.#byChild.get(child);
    if (lane === undefined) {
      // Not attached yet (or gone): only a spare listener on its way back still matters.
      if (message.t === "dup") this.#listeners.get(message.s)?.spareArrived(handle as TcpHandle);
      return;
    }
    switch (message.t) {
      case "load":
        this.#report(lane, message.open, message.received);
        for (const listener of this.#listeners.values()) listener.reported(lane);
        return;
      case "spilling":
        this.#report(lane, message.open, message.received);
        this.#listeners.get(message.s)?.spilling(lane);
        return;
      case "spilled":
        this.#report(lane, message.open, message.received);
        this.#listeners.get(message.s)?.spilled(lane, message.accepted, message.full);
        return;
      case "dup":
        this.#listeners.get(message.s)?.spareArrived(handle as TcpHandle | undefined);
        return;
      case "draining":
        // It finishes what it has; what is still in flight to it is acknowledged as usual.
        lane.ready = false;
        this.#log.debug({ worker: lane.id }, "worker draining: handed nothing new");
        return;
      case "ready":
      case "failed":
        return;
    }
  }

  /** Stop accepting. Connections already accepted are still handed out; resolves when done. */
  async stop(): Promise<void> {
    for (const listener of this.#listeners.values()) listener.stop();
    await this.#queue.stop();
  }

  /** A connection accepted on `listener`. */
  #onConnection(handle: RawHandle, listener: ServiceListener): void {
    this.#queue.push({ handle, service: listener.service, at: performance.now() });
    this.#queue.pump();
    const queued = this.#queue.length;
    if (queued >= SPILL_QUEUE_PER_WORKER * this.#byChild.size) listener.backedUp(queued);
  }

  #report(lane: Lane, open: number, received: number): void {
    // Handles sent but not yet received when the worker counted are in flight: add them.
    lane.load = open + (lane.sent - received);
  }
}
