/**
 * The connections the handoff primary accepted and has not handed out yet, in one FIFO queue,
 * and the pump that hands each to a worker whose channel is free (docs/ARCHITECTURE.md: a
 * channel carries one handle per round trip, so a connection waits here rather than behind
 * another handle in a worker's channel).
 */
import type { ChildProcess } from "node:child_process";
import type { Balance } from "../config/config.ts";
import { pick } from "./balancer.ts";
import { CONN, type Pending, sendHandle } from "./handles.ts";
import { type Lane, occupy } from "./lane.ts";

/** A worker whose channel has had a handle in flight this long is stalled (see balancer.ts). */
const STALL_MS = 100;

export class HandoffQueue {
  readonly #waiting: Pending[] = [];
  readonly #lanes: readonly Lane[];
  readonly #policy: Balance;
  #cursor = 0;
  #stallCheck: NodeJS.Timeout | undefined;

  constructor(lanes: readonly Lane[], policy: Balance) {
    this.#lanes = lanes;
    this.#policy = policy;
  }

  get length(): number {
    return this.#waiting.length;
  }

  /** A new connection: last in line. */
  push(conn: Pending): void {
    this.#waiting.push(conn);
  }

  /** Connections that went out and came back (refused, or their worker died): first in line. */
  unshift(...conns: Pending[]): void {
    this.#waiting.unshift(...conns);
  }

  /** Hand out what waits, to workers with a free channel, as balance allows. */
  pump(): void {
    const lanes = this.#lanes;
    if (this.#waiting.length === 0) return;
    const now = Date.now();
    for (const lane of lanes)
      lane.stalled = !lane.free && lane.ready && now - lane.busySince > STALL_MS;
    while (this.#waiting.length > 0) {
      const i = pick(lanes, this.#policy, this.#cursor);
      if (i < 0) break;
      this.#cursor = i + 1;
      this.#send(lanes[i] as Lane, this.#waiting.shift() as Pending);
    }
    // Connections wait for an acknowledgement, which pumps again; should a worker stall
    // instead, look again once it counts as stalled, so the others take its share.
    if (this.#waiting.length > 0 && this.#stallCheck === undefined) {
      this.#stallCheck = setTimeout(() => {
        this.#stallCheck = undefined;
        this.pump();
      }, STALL_MS + 1);
    }
  }

  /** Give what waits up to 2 s to go out, then close the rest. */
  async stop(): Promise<void> {
    for (let waited = 0; this.#waiting.length > 0 && waited < 2_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const conn of this.#waiting.splice(0)) conn.handle.close();
    clearTimeout(this.#stallCheck);
  }

  #send(lane: Lane, conn: Pending): void {
    // pick() takes only ready lanes, and a ready lane has its child (detach clears both).
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
      this.#waiting.unshift(conn);
      this.pump();
    });
  }
}
