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
 * - Spill: when the queue backs up (connections arrive faster than handles can be passed), the
 *   primary stops accepting and lends workers a duplicate of the listening socket, each with a ceiling on its open
 *   connections; they accept directly until the load falls, and then handoff resumes.
 */
import type { ChildProcess } from "node:child_process";
import type { Logger } from "../../log.ts";
import type { FromWorker } from "../../messages.ts";
import type { Balance } from "../config.ts";
import { type Candidate, grantSize, pick } from "./balancer.ts";
import type { RawHandle, TcpHandle } from "./handles.ts";

/** Queue length, per worker, at which the primary starts lending the listener (spill). */
const SPILL_QUEUE_PER_WORKER = 2;
/** A grant smaller than this is not worth its round trip: the worker waits for the next turn. */
const GRANT_WORTHWHILE = 4;
/** A worker whose channel has had a handle in flight this long is stalled (see balancer.ts). */
const STALL_MS = 100;
/** How long a grant lasts. */
const SPILL_MS = 50;
/** Connections accepted in one grant's time that show the rush goes on (~640/s per worker). */
const SPILL_RUSH = 32;
/**
 * A grant not reported back after this long is treated as over (its worker is stuck or gone), so
 * that another worker, or the primary, accepts instead.
 */
const SPILL_STALE_MS = 250;
const BACKLOG = 511;

interface Lane extends Candidate {
  readonly id: number;
  child: ChildProcess | undefined;
  ready: boolean;
  free: boolean;
  stalled: boolean;
  load: number;
  /** When the oldest unacknowledged handle message was sent (for `stalled`). */
  busySince: number;
  /** Handle messages sent and not yet acknowledged, in order; connection handles to close. */
  readonly unacked: (RawHandle | null)[];
  /** Connection handles sent to this incarnation of the worker. */
  sent: number;
  /** When its current spill grant started, or 0. */
  grantedAt: number;
}

export class Dispatcher {
  readonly #lanes: Lane[] = [];
  readonly #queue: RawHandle[] = [];
  readonly #policy: Balance;
  readonly #spillAllowed: boolean;
  readonly #log: Logger;
  #cursor = 0;
  /** The listening handle the primary accepts from, or null while spilling or stopped. */
  #polled: TcpHandle | null;
  /** An idle duplicate of the listener, lent to workers and re-polled when spill ends. */
  #keeper: TcpHandle | null = null;
  /** The worker asked for a spare copy of the listener, or -1. */
  #keeperFrom = -1;
  #spilling = false;
  #stopped = false;
  #watchdog: NodeJS.Timeout | undefined;
  #stallCheck: NodeJS.Timeout | undefined;

  constructor(listener: TcpHandle, policy: Balance, spill: boolean, log: Logger) {
    this.#policy = policy;
    this.#spillAllowed = spill;
    this.#log = log;
    this.#polled = listener;
    listener.onconnection = this.#onConnection;
  }

  /** A worker (new or replacement) in slot `id` is ready. */
  attach(id: number, child: ChildProcess): void {
    const lane = this.#lane(id);
    lane.child = child;
    lane.ready = true;
    lane.free = true;
    lane.load = 0;
    lane.sent = 0;
    lane.grantedAt = 0;
    lane.stalled = false;
    child.on("internalMessage", (message: { cmd?: string } | null) => {
      if (message?.cmd === "NODE_HANDLE_ACK" && lane.child === child) this.#onAck(lane);
    });
    if (this.#keeper === null && this.#spillAllowed) this.#askForKeeper();
    this.#pump();
  }

  /** The worker in slot `id` exited: whatever it had not acknowledged goes to another worker. */
  detach(id: number): void {
    const lane = this.#lane(id);
    lane.child = undefined;
    lane.ready = false;
    lane.free = false;
    lane.grantedAt = 0;
    const orphans = lane.unacked.splice(0).filter((h): h is RawHandle => h !== null);
    if (orphans.length > 0) {
      this.#log.warn(
        { worker: id, connections: orphans.length },
        "re-dispatching handles of a dead worker",
      );
      this.#queue.unshift(...orphans);
    }
    if (this.#keeperFrom === id) {
      // It died with our request: ask another worker.
      this.#keeperFrom = -1;
      if (this.#keeper === null && this.#spillAllowed) this.#askForKeeper();
    }
    this.#maybeEndSpill();
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
        this.#onSpilled(lane, message.accepted, message.full);
        return;
      case "dup":
        this.#onKeeper(handle as TcpHandle | undefined);
        return;
      case "ready":
      case "failed":
        return;
    }
  }

  /** Stop accepting. Connections already accepted are still handed out; resolves when done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#watchdog);
    this.#polled?.close();
    this.#polled = null;
    this.#keeper?.close();
    this.#keeper = null;
    for (let waited = 0; this.#queue.length > 0 && waited < 2_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const handle of this.#queue.splice(0)) handle.close();
    clearTimeout(this.#stallCheck);
  }

  // ---- the accept path ----

  /** libuv's connection callback on the listening handle; `this` is not used. */
  readonly #onConnection = (status: number, handle: RawHandle | undefined): void => {
    if (status < 0 || handle === undefined) {
      this.#log.warn({ status }, "accept failed");
      return;
    }
    this.#queue.push(handle);
    this.#pump();
    if (this.#queue.length >= SPILL_QUEUE_PER_WORKER * this.#lanes.length) this.#startSpill();
  };

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
      this.#sendConn(lanes[i] as Lane, this.#queue.shift() as RawHandle);
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

  /** Bookkeeping for every message that carries a handle: it occupies the channel until acked. */
  #occupy(lane: Lane, handle: RawHandle | null): void {
    if (lane.unacked.length === 0) lane.busySince = Date.now();
    lane.unacked.push(handle);
    lane.free = false;
  }

  #sendConn(lane: Lane, handle: RawHandle): void {
    const child = lane.child as ChildProcess;
    this.#occupy(lane, handle);
    lane.sent++;
    lane.load++;
    child.send({ t: "conn" }, handle as never, undefined, (err) => {
      if (err === null) return;
      // The send failed (the channel closed under us). If the exit handler has not already
      // taken the handle back, do it here, so the connection is never dropped silently.
      const at = lane.unacked.indexOf(handle);
      if (at < 0) return;
      lane.unacked.splice(at, 1);
      lane.sent--;
      this.#queue.unshift(handle);
      this.#pump();
    });
  }

  #onAck(lane: Lane): void {
    const handle = lane.unacked.shift();
    // The worker holds its own descriptor now; ours can go.
    handle?.close();
    if (lane.unacked.length === 0) {
      lane.free = true;
      lane.stalled = false;
      this.#pump();
    } else {
      lane.busySince = Date.now();
    }
  }

  #report(lane: Lane, open: number, received: number): void {
    // Handles sent but not yet received when the worker counted are in flight: add them.
    lane.load = open + (lane.sent - received);
  }

  // ---- spill: workers accept directly while the queue is backed up ----

  #startSpill(): void {
    if (!this.#spillAllowed || this.#spilling || this.#stopped) return;
    if (this.#keeper === null || this.#polled === null) return;
    if (!this.#grantLeast(-1)) return;
    this.#spilling = true;
    // Stop accepting here: a primary that kept polling would win most accept races and the
    // queue would never drain. The keeper keeps the socket open meanwhile.
    this.#polled.close();
    this.#polled = null;
    this.#watchdog = setInterval(() => this.#expireGrants(), SPILL_MS);
    this.#log.debug({ queued: this.#queue.length }, "spill: workers accept directly");
  }

  /** Lend the listener to a worker, for as many connections as balance allows. */
  #grant(lane: Lane): boolean {
    const child = lane.child;
    if (child === undefined || !lane.ready || lane.grantedAt !== 0 || this.#keeper === null)
      return false;
    const room = grantSize(this.#lanes, lane);
    if (room < GRANT_WORTHWHILE) return false;
    lane.grantedAt = Date.now();
    this.#occupy(lane, null);
    child.send({ t: "accept", maxOpen: lane.load + room, ms: SPILL_MS }, this.#keeper as never);
    return true;
  }

  #onSpilled(lane: Lane, accepted: number, full: boolean): void {
    lane.grantedAt = 0;
    // While the rush goes on, lend the listener again, to whoever is least loaded now.
    if (this.#spilling && (full || accepted >= SPILL_RUSH)) this.#grantLeast(lane.id);
    this.#maybeEndSpill();
  }

  /**
   * Lend the listener to the least loaded worker that balance allows (on a tie, the next one
   * after `after`). One worker accepts at a time: on a shared listening socket every poller is
   * woken for every connection and all but one find nothing, so a single acceptor spares the
   * others those wake-ups (measured: ~47 µs of server CPU per churned connection against ~53
   * with every worker accepting at once), and taking turns by load keeps the balance.
   */
  #grantLeast(after: number): boolean {
    const n = this.#lanes.length;
    const order = [...this.#lanes.keys()].map((i) => (after + 1 + i) % n);
    order.sort((a, b) => (this.#lanes[a] as Lane).load - (this.#lanes[b] as Lane).load);
    for (const i of order) if (this.#grant(this.#lanes[i] as Lane)) return true;
    return false;
  }

  #expireGrants(): void {
    const now = Date.now();
    for (const lane of this.#lanes) {
      if (lane.grantedAt !== 0 && now - lane.grantedAt > SPILL_STALE_MS) {
        this.#log.warn(
          { worker: lane.id },
          "spill grant not returned; resuming handoff without it",
        );
        lane.grantedAt = 0;
      }
    }
    this.#maybeEndSpill();
  }

  #maybeEndSpill(): void {
    if (!this.#spilling || this.#lanes.some((l) => l.grantedAt !== 0)) return;
    this.#spilling = false;
    clearInterval(this.#watchdog);
    if (this.#stopped) return;
    const listener = this.#keeper;
    if (listener === null) return;
    // Poll the idle duplicate ourselves again and ask a worker for a fresh idle one.
    this.#keeper = null;
    listener.onconnection = this.#onConnection;
    const err = listener.listen(BACKLOG);
    if (err !== 0) this.#log.error({ err }, "cannot resume accepting on the listener");
    this.#polled = listener;
    this.#askForKeeper();
    this.#log.debug("spill over: handoff resumes");
  }

  // ---- the keeper: an idle duplicate of the listener, made by a round trip through a worker ----

  #askForKeeper(): void {
    if (this.#keeperFrom >= 0 || this.#stopped || this.#polled === null) return;
    const lane = this.#lanes.find((l) => l.ready);
    if (lane?.child === undefined) return;
    this.#keeperFrom = lane.id;
    this.#occupy(lane, null);
    lane.child.send({ t: "dup" }, this.#polled as never);
  }

  #onKeeper(handle: TcpHandle | undefined): void {
    this.#keeperFrom = -1;
    if (handle === undefined) return;
    if (this.#stopped || this.#keeper !== null) handle.close();
    else this.#keeper = handle;
  }

  #lane(id: number): Lane {
    let lane = this.#lanes[id];
    if (lane === undefined) {
      lane = {
        id,
        child: undefined,
        ready: false,
        free: false,
        load: 0,
        unacked: [],
        sent: 0,
        grantedAt: 0,
        stalled: false,
        busySince: 0,
      };
      this.#lanes[id] = lane;
    }
    return lane;
  }
}
