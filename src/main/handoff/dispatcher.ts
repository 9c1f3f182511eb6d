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
import { isConnection, WorkerChannel } from "./channel.ts";
import type { RawHandle, TcpHandle } from "./handles.ts";
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
  readonly #channels: WorkerChannel[] = [];
  readonly #byChild = new Map<ChildProcess, WorkerChannel>();
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
    this.#queue = new HandoffQueue(this.#channels, policy);
    this.#log = log;
    this.#accept = new AcceptBackoff(log);
    const shared = { channels: this.#channels, accept: this.#accept, log };
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
    // Ready ones only: a dead worker's channel waits to close, paused or not, and the supervisor
    // no longer counts it.
    return this.#channels.filter((c) => c.ready && c.paused).length;
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
   * its predecessor for a while) is ready: it gets a channel, the first one whose worker is gone.
   */
  attach(worker: number, child: ChildProcess): void {
    let channel = this.#channels.find((c) => c.child === undefined);
    if (channel === undefined) {
      channel = new WorkerChannel(this.#channels.length);
      this.#channels.push(channel);
    }
    const attached = channel;
    attached.attach(child, worker);
    this.#byChild.set(child, attached);
    child.on("internalMessage", (message: { cmd?: string } | null) => {
      if (attached.child !== child) return;
      if (message?.cmd === "NODE_HANDLE_ACK") this.#acknowledged(attached);
      else if (message?.cmd === "NODE_HANDLE_NACK") this.#refusedBy(attached);
    });
    // Closed (after everything in it was read): nothing more can be answered, or sent. It can
    // close before the supervisor hears of the exit.
    child.once("disconnect", () => this.#release(attached, child));
    for (const listener of this.#listeners.values()) listener.askForSpare();
    this.#queue.pump();
  }

  #acknowledged(channel: WorkerChannel): void {
    const item = channel.acked();
    if (item !== undefined && isConnection(item)) {
      // The worker holds its own descriptor now; ours can go.
      item.handle.close();
      this.handoffSeconds.observe((performance.now() - item.at) / 1000);
    }
    if (channel.free) this.#queue.pump();
  }

  /**
   * The worker, out of descriptors, could not take the oldest handle (NACK). The handle is still
   * ours and open: a connection goes back to the head of the queue, a listener copy stays here.
   * The channel sends nothing for a while (channel.ts) so the worker can free descriptors and
   * the others take the connections.
   */
  #refusedBy(channel: WorkerChannel): void {
    const { item, pausedMs } = channel.nacked(() => {
      this.#queue.pump(); // connections first; a spare request may wait behind one
      for (const listener of this.#listeners.values()) listener.askForSpare();
    });
    if (item === undefined) return;
    this.#refused++;
    if (isConnection(item)) this.#queue.unshift(item);
    else this.#listeners.get(item.service)?.refused(channel, item);
    this.#log.warn(
      { worker: channel.worker, refused: this.#refused, pausedMs },
      "a worker out of descriptors could not take a handle; it goes to another worker",
    );
    this.#queue.pump();
  }

  /**
   * A worker exited. What it had not acknowledged goes to another worker, but only once its
   * channel is closed: an ACK it sent before dying can still be in the pipe when 'exit' comes,
   * and a connection it took (and may have read from) must not be handed out a second time.
   */
  detach(child: ChildProcess): void {
    const channel = this.#byChild.get(child);
    if (channel === undefined) return;
    channel.exited();
    if (!child.connected) this.#release(channel, child);
    // Else 'disconnect' releases it. Should the channel outlive the process (a descendant
    // holding it), do not wait for ever.
    else setTimeout(() => this.#release(channel, child), 1_000).unref();
  }

  #release(channel: WorkerChannel, child: ChildProcess): void {
    if (this.#byChild.get(child) !== channel) return;
    this.#byChild.delete(child);
    const orphans = channel.release();
    if (orphans.length > 0) {
      this.#log.warn(
        { worker: channel.worker, connections: orphans.length },
        "re-dispatching handles of a dead worker",
      );
      this.#queue.unshift(...orphans);
    }
    for (const listener of this.#listeners.values()) listener.channelGone(channel);
    this.#queue.pump();
  }

  message(child: ChildProcess, message: FromWorker, handle: object | undefined): void {
    const channel = this.#byChild.get(child);
    if (channel === undefined) {
      // Not attached yet (or gone): only a spare listener on its way back still matters.
      if (message.t === "dup") this.#listeners.get(message.s)?.spareArrived(handle as TcpHandle);
      return;
    }
    switch (message.t) {
      case "load":
        channel.report(message.open, message.received);
        for (const listener of this.#listeners.values()) listener.reported(channel);
        return;
      case "spilling":
        channel.report(message.open, message.received);
        this.#listeners.get(message.s)?.spilling(channel);
        return;
      case "spilled":
        channel.report(message.open, message.received);
        this.#listeners.get(message.s)?.spilled(channel, message.accepted, message.full);
        return;
      case "dup":
        this.#listeners.get(message.s)?.spareArrived(handle as TcpHandle | undefined);
        return;
      case "draining":
        // It finishes what it has; what is still in flight to it is acknowledged as usual.
        channel.draining();
        this.#log.debug({ worker: channel.worker }, "worker draining: handed nothing new");
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
}
