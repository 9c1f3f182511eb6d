/**
 * The handoff primary's accept loop. It accepts on the listening socket and hands each raw
 * connection handle to a worker over that worker's IPC channel, following docs/ARCHITECTURE.md:
 *
 * - A channel carries one handle per round trip (child_process holds everything behind a sent
 *   handle until the worker's internal NODE_HANDLE_ACK), so a handle goes only to a worker whose
 *   channel is free; otherwise it waits in one FIFO queue here. No application-level reply is
 *   awaited: the internal acknowledgement frees the channel.
 * - The primary keeps its copy of a handle open until that acknowledgement, so a handle whose send
 *   fails, or whose worker dies before taking it, goes to another worker.
 * - When the queue backs up, spill.ts lends the listener to the workers until the rush is over.
 */
import type { ChildProcess } from "node:child_process";
import type { Logger } from "../../log.ts";
import type { FromWorker, Service } from "../../messages.ts";
import type { Balance } from "../config.ts";
import { handoffHistogram } from "../metrics.ts";
import { AcceptBackoff } from "./accept-backoff.ts";
import { pick } from "./balancer.ts";
import { CONN, type Pending, type RawHandle, sendHandle, type TcpHandle } from "./handles.ts";
import {
  answered,
  isConnection,
  type Lane,
  newLane,
  occupy,
  refusalPauseMs,
  resetLane,
} from "./lane.ts";
import { Listener } from "./listener.ts";
import { Spill } from "./spill.ts";

/** Queue length, per worker, at which the primary starts lending the listener (spill). */
const SPILL_QUEUE_PER_WORKER = 2;
/** A worker whose channel has had a handle in flight this long is stalled (see balancer.ts). */
const STALL_MS = 100;

/** The listening sockets: TCP echo, and HTTP when it is on. */
export interface Listeners {
  readonly echo: TcpHandle;
  readonly http: TcpHandle | null;
}
const SERVICES: readonly Service[] = ["echo", "http"];

export class Dispatcher {
  readonly #lanes: Lane[] = [];
  readonly #byChild = new Map<ChildProcess, Lane>();
  readonly #queue: Pending[] = [];
  readonly #policy: Balance;
  readonly #log: Logger;
  /** One listener per service, and its spill policy when spill is on. */
  readonly #listeners = new Map<Service, Listener>();
  readonly #spills = new Map<Service, Spill>();
  #cursor = 0;
  #stopped = false;
  /** Handles a worker out of descriptors could not take (NACKed); each went elsewhere. */
  #refused = 0;
  readonly #accept: AcceptBackoff;
  #stallCheck: NodeJS.Timeout | undefined;

  /** From accept to the worker's acknowledgement, per connection handed off (/metrics). */
  readonly handoffSeconds = handoffHistogram();

  constructor(
    listeners: Listeners,
    { policy, spill, backlog }: { policy: Balance; spill: boolean; backlog: number },
    log: Logger,
  ) {
    this.#policy = policy;
    this.#log = log;
    this.#accept = new AcceptBackoff(log);
    for (const service of SERVICES) {
      const handle = listeners[service];
      if (handle === null) continue;
      const listener = new Listener(handle, backlog, (status, conn) =>
        this.#onConnection(status, conn, service),
      );
      this.#listeners.set(service, listener);
      if (spill) {
        const onEnd = () => this.#askForSpare(service);
        this.#spills.set(service, new Spill(service, this.#lanes, listener, log, onEnd));
      }
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
    for (const service of this.#listeners.keys()) this.#askForSpare(service);
    this.#pump();
  }

  #acknowledged(lane: Lane): void {
    lane.refusals = 0;
    const item = answered(lane);
    if (item !== undefined && isConnection(item)) {
      // The worker holds its own descriptor now; ours can go.
      item.handle.close();
      this.handoffSeconds.observe((performance.now() - item.at) / 1000);
    }
    if (lane.free) this.#pump();
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
    } else if (item.lent === "dup") {
      this.#listeners.get(item.service)?.spareArrived(undefined);
      this.#askForSpare(item.service);
    } else {
      this.#spills.get(item.service)?.returned(lane, 0, false);
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
      this.#pump(); // connections first; a spare request may wait behind one
      for (const service of this.#listeners.keys()) this.#askForSpare(service);
    }, pausedMs).unref();
    this.#pump();
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
    for (const [service, listener] of this.#listeners) {
      // If it died with our request for a spare listener, ask another worker.
      if (listener.workerGone(lane.id)) this.#askForSpare(service);
      this.#spills.get(service)?.laneGone(lane);
    }
    this.#pump();
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
        for (const spill of this.#spills.values()) spill.reported(lane);
        return;
      case "spilling":
        this.#report(lane, message.open, message.received);
        this.#spills.get(message.s)?.busy(lane);
        return;
      case "spilled":
        this.#report(lane, message.open, message.received);
        this.#spills.get(message.s)?.returned(lane, message.accepted, message.full);
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
    this.#stopped = true;
    for (const spill of this.#spills.values()) spill.stop();
    for (const listener of this.#listeners.values()) listener.close();
    for (let waited = 0; this.#queue.length > 0 && waited < 2_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const conn of this.#queue.splice(0)) conn.handle.close();
    clearTimeout(this.#stallCheck);
  }

  /** libuv's connection callback on a listening handle. */
  #onConnection(status: number, handle: RawHandle | undefined, service: Service): void {
    if (status < 0 || handle === undefined) {
      this.#acceptFailed(status, service);
      return;
    }
    this.#accept.accepted();
    this.#queue.push({ handle, service, at: performance.now() });
    this.#pump();
    const queued = this.#queue.length;
    if (queued >= SPILL_QUEUE_PER_WORKER * this.#byChild.size) {
      this.#spills.get(service)?.start(queued);
    }
  }

  /** An accept error: counted; out of descriptors, accepting pauses (accept-backoff.ts). */
  #acceptFailed(status: number, service: Service): void {
    const listener = this.#listeners.get(service);
    const pausedMs = this.#accept.failed(
      status,
      service,
      () => !this.#stopped && listener?.pause() === true,
    );
    if (pausedMs === 0 || listener === undefined) return;
    setTimeout(() => {
      if (this.#stopped) return;
      listener.resume();
      this.#askForSpare(service);
    }, pausedMs);
  }

  #pump(): void {
    const lanes = this.#lanes;
    if (this.#queue.length === 0) return;
    const now = Date.now();
    for (const lane of lanes)
      lane.stalled = !lane.free && lane.ready && now - lane.busySince > STALL_MS;
    while (this.#queue.length > 0) {
      const i = pick(lanes, this.#policy, this.#cursor);
      if (i < 0) break;
      this.#cursor = i + 1;
      this.#sendConn(lanes[i] as Lane, this.#queue.shift() as Pending);
    }
    // Connections wait for an acknowledgement, which re-runs this; should a worker stall
    // instead, look again once it counts as stalled, so the others take its share.
    if (this.#queue.length > 0 && this.#stallCheck === undefined) {
      this.#stallCheck = setTimeout(() => {
        this.#stallCheck = undefined;
        this.#pump();
      }, STALL_MS + 1);
    }
  }

  #sendConn(lane: Lane, conn: Pending): void {
    const child = lane.child as ChildProcess;
    occupy(lane, conn);
    lane.sent++;
    lane.load++;
    sendHandle(child, CONN[conn.service], conn.handle, (err) => {
      if (err === null) return;
      // The send failed (the channel closed under us). If the exit handler has not already
      // taken the handle back, do it here, so the connection is never dropped silently.
      const at = lane.unacked.indexOf(conn);
      if (at < 0) return;
      lane.unacked.splice(at, 1);
      lane.sent--;
      this.#queue.unshift(conn);
      this.#pump();
    });
  }

  #report(lane: Lane, open: number, received: number): void {
    // Handles sent but not yet received when the worker counted are in flight: add them.
    lane.load = open + (lane.sent - received);
  }

  /** Have a worker make the spare copy of `service`'s listener that spill lends out. */
  #askForSpare(service: Service): void {
    if (!this.#spills.has(service) || this.#stopped) return;
    const lane = this.#lanes.find((l) => l.ready && !l.paused);
    if (lane?.child === undefined) return;
    const listener = this.#listeners.get(service)?.requestSpare(lane.id);
    if (listener === null || listener === undefined) return;
    occupy(lane, { lent: "dup", service });
    sendHandle(lane.child, { t: "dup", s: service }, listener);
  }
}
