/**
 * What the handoff primary knows about one worker's IPC channel. Every message that carries a
 * handle occupies the channel until child_process's internal answer, NODE_HANDLE_ACK or
 * NODE_HANDLE_NACK, one per message and in order: `unacked` mirrors that queue.
 *
 * A NACK means the worker could not receive the descriptor (it is out of them). For the raw
 * handles handoff sends ("net.Native"), child_process neither retransmits nor closes anything:
 * the handle is still open in the primary and can go to another worker (test/nack.test.ts
 * checks this Node does so).
 */
import type { ChildProcess } from "node:child_process";
import type { Service } from "../../messages.ts";
import { backoffMs } from "./accept-backoff.ts";
import type { Candidate } from "./balancer.ts";
import type { Pending } from "./handles.ts";

/** A listener copy in flight: lent for direct accept (spill), or sent to be copied (spare). */
export interface ListenerCopy {
  readonly lent: "accept" | "dup";
  readonly service: Service;
}

/** A handle message in flight: a connection the primary still owns, or a listener copy. */
export type InFlight = Pending | ListenerCopy;

export function isConnection(item: InFlight): item is Pending {
  return !("lent" in item);
}

export interface Lane extends Candidate {
  /** This lane's index among the dispatcher's lanes (a lane is reused once its worker is gone). */
  readonly id: number;
  /** The id of the worker it carries (for logs); two lanes share it during a rolling restart. */
  worker: number;
  child: ChildProcess | undefined;
  ready: boolean;
  free: boolean;
  stalled: boolean;
  load: number;
  /** When the oldest unacknowledged handle message was sent (for `stalled`). */
  busySince: number;
  /** Handle messages sent and not yet answered, in order. */
  readonly unacked: InFlight[];
  /** Connection handles this incarnation of the worker received. */
  sent: number;
  /** NACKs in a row: the worker is out of descriptors; the back-off doubles with each. */
  refusals: number;
  /** Backing off after a NACK: sent nothing until the pause is over. */
  paused: boolean;
}

export function newLane(id: number): Lane {
  return {
    id,
    worker: id,
    child: undefined,
    ready: false,
    free: false,
    stalled: false,
    load: 0,
    busySince: 0,
    unacked: [],
    sent: 0,
    refusals: 0,
    paused: false,
  };
}

/** A new incarnation of the worker is ready. */
export function resetLane(lane: Lane, child: ChildProcess, worker: number): void {
  lane.child = child;
  lane.worker = worker;
  lane.ready = true;
  lane.free = true;
  lane.stalled = false;
  lane.load = 0;
  lane.sent = 0;
  lane.refusals = 0;
  lane.paused = false;
}

/** A message carrying a handle is sent. */
export function occupy(lane: Lane, item: InFlight): void {
  if (lane.unacked.length === 0) lane.busySince = Date.now();
  lane.unacked.push(item);
  lane.free = false;
}

/** The oldest handle message is answered (ACK or NACK); returns it. */
export function answered(lane: Lane): InFlight | undefined {
  const item = lane.unacked.shift();
  if (lane.unacked.length === 0) {
    lane.free = !lane.paused;
    lane.stalled = false;
  } else {
    lane.busySince = Date.now();
  }
  return item;
}

/** After a NACK: how long the lane sends nothing (50 ms, doubling to 2 s while NACKs go on). */
export function refusalPauseMs(lane: Lane): number {
  return backoffMs(lane.refusals);
}
