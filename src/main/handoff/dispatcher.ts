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
import type { ConnMessage, FromWorker, Service } from "../../messages.ts";
import type { Balance } from "../config.ts";
import { pick } from "./balancer.ts";
import type { Pending, RawHandle, TcpHandle } from "./handles.ts";
import { acknowledge, type Lane, newLane, occupy, resetLane } from "./lane.ts";
import { Listener } from "./listener.ts";
import { Spill } from "./spill.ts";

/** Queue length, per worker, at which the primary starts lending the listener (spill). */
const SPILL_QUEUE_PER_WORKER = 2;
/** A worker whose channel has had a handle in flight this long is stalled (see balancer.ts). */
const STALL_MS = 100;
/** One message object per service, sent with every connection (serialized, never mutated). */
const CONN: Readonly<Record<Service, ConnMessage>> = {
  echo: { t: "conn", s: "echo" },
  http: { t: "conn", s: "http" },
};

/** The listening sockets: TCP echo, and HTTP when it is on. */
export interface Listeners {
  readonly echo: TcpHandle;
  readonly http: TcpHandle | null;
}

export class Dispatcher {
  readonly #lanes: Lane[] = [];
  readonly #queue: Pending[] = [];
  readonly #policy: Balance;
  readonly #log: Logger;
  readonly #listener: Listener;
  /** The HTTP port's listener: plain handoff (spill lends the TCP echo listener only). */
  readonly #http: Listener | null;
  readonly #spill: Spill | undefined;
  #cursor = 0;
  #stopped = false;
  #stallCheck: NodeJS.Timeout | undefined;

  constructor(listeners: Listeners, policy: Balance, spill: boolean, log: Logger) {
    this.#policy = policy;
    this.#log = log;
    this.#listener = new Listener(listeners.echo, this.#onConnection);
    this.#http = listeners.http === null ? null : new Listener(listeners.http, this.#onHttp);
    this.#spill = spill
      ? new Spill(this.#lanes, this.#listener, log, () => this.#askForSpare())
      : undefined;
  }

  /** A worker (new or replacement) in slot `id` is ready. */
  attach(id: number, child: ChildProcess): void {
    const lane = this.#lane(id);
    resetLane(lane, child);
    child.on("internalMessage", (message: { cmd?: string } | null) => {
      if (message?.cmd !== "NODE_HANDLE_ACK" || lane.child !== child) return;
      // The worker holds its own descriptor now; ours can go.
      acknowledge(lane)?.handle.close();
      if (lane.free) this.#pump();
    });
    this.#askForSpare();
    this.#pump();
  }

  /** The worker in slot `id` exited: whatever it had not acknowledged goes to another worker. */
  detach(id: number): void {
    const lane = this.#lane(id);
    lane.child = undefined;
    lane.ready = false;
    lane.free = false;
    const orphans = lane.unacked.splice(0).filter((c): c is Pending => c !== null);
    if (orphans.length > 0) {
      this.#log.warn(
        { worker: id, connections: orphans.length },
        "re-dispatching handles of a dead worker",
      );
      this.#queue.unshift(...orphans);
    }
    // If it died with our request for a spare listener, ask another worker.
    if (this.#listener.workerGone(id)) this.#askForSpare();
    this.#spill?.laneGone(lane);
    this.#pump();
  }

  message(id: number, message: FromWorker, handle: object | undefined): void {
    const lane = this.#lane(id);
    switch (message.t) {
      case "load":
        this.#report(lane, message.open, message.received);
        return;
      case "spilled":
        this.#report(lane, message.open, message.received);
        this.#spill?.returned(lane, message.accepted, message.full);
        return;
      case "dup":
        this.#listener.spareArrived(handle as TcpHandle | undefined);
        return;
      case "draining":
        // It finishes what it has; what is still in flight to it is acknowledged as usual.
        lane.ready = false;
        return;
      case "ready":
      case "failed":
        return;
    }
  }

  /** Stop accepting. Connections already accepted are still handed out; resolves when done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#spill?.stop();
    this.#listener.close();
    this.#http?.close();
    for (let waited = 0; this.#queue.length > 0 && waited < 2_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const conn of this.#queue.splice(0)) conn.handle.close();
    clearTimeout(this.#stallCheck);
  }

  /** libuv's connection callback on the TCP echo listener. */
  readonly #onConnection = (status: number, handle: RawHandle | undefined): void => {
    if (!this.#enqueue(status, handle, "echo")) return;
    const queued = this.#queue.length;
    if (queued >= SPILL_QUEUE_PER_WORKER * this.#lanes.length) this.#spill?.start(queued);
  };

  /** libuv's connection callback on the HTTP listener. */
  readonly #onHttp = (status: number, handle: RawHandle | undefined): void => {
    this.#enqueue(status, handle, "http");
  };

  #enqueue(status: number, handle: RawHandle | undefined, service: Service): boolean {
    if (status < 0 || handle === undefined) {
      this.#log.warn({ status, service }, "accept failed");
      return false;
    }
    this.#queue.push({ handle, service });
    this.#pump();
    return true;
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
    child.send(CONN[conn.service], conn.handle as never, undefined, (err) => {
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

  /** Have a worker make the spare copy of the listener that spill lends out. */
  #askForSpare(): void {
    if (this.#spill === undefined || this.#stopped) return;
    const lane = this.#lanes.find((l) => l.ready);
    if (lane?.child === undefined) return;
    const listener = this.#listener.requestSpare(lane.id);
    if (listener === null) return;
    occupy(lane, null);
    lane.child.send({ t: "dup" }, listener as never);
  }

  #lane(id: number): Lane {
    let lane = this.#lanes[id];
    if (lane === undefined) {
      lane = newLane(id);
      this.#lanes[id] = lane;
    }
    return lane;
  }
}
