/**
 * What the handoff primary knows about one worker's IPC channel. Every message that carries a
 * handle occupies the channel until child_process's internal acknowledgement: `unacked` mirrors
 * that queue, in order, holding the connection handles the primary still owns.
 */
import type { ChildProcess } from "node:child_process";
import type { Candidate } from "./balancer.ts";
import type { Pending } from "./handles.ts";

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
  /** Handle messages sent and not yet acknowledged, in order; connections the primary owns. */
  readonly unacked: (Pending | null)[];
  /** Connection handles sent to this incarnation of the worker. */
  sent: number;
  /** NODE_HANDLE_NACKs for the oldest handle message (child_process retransmits, then drops). */
  nacks: number;
  /** Handle messages child_process gave up on in a row (the worker was out of descriptors). */
  dropped: number;
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
    nacks: 0,
    dropped: 0,
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
  lane.nacks = 0;
  lane.dropped = 0;
}

/** A message carrying a handle (`conn` when it is a connection the primary still owns) is sent. */
export function occupy(lane: Lane, conn: Pending | null): void {
  if (lane.unacked.length === 0) lane.busySince = Date.now();
  lane.unacked.push(conn);
  lane.free = false;
}

/**
 * The oldest handle message is done with: the worker acknowledged it, or child_process gave up
 * on it (see nacked); returns its connection, if any.
 */
export function acknowledge(lane: Lane): Pending | null | undefined {
  lane.nacks = 0;
  const conn = lane.unacked.shift();
  if (lane.unacked.length === 0) {
    lane.free = true;
    lane.stalled = false;
  } else {
    lane.busySince = Date.now();
  }
  return conn;
}

/**
 * child_process retransmits a handle the worker could not receive (NODE_HANDLE_NACK: no free
 * descriptor there) this many times, then closes it and moves on without any ACK
 * (lib/internal/child_process.js, MAX_HANDLE_RETRANSMISSIONS).
 */
export const MAX_RETRANSMISSIONS = 3;

/**
 * The worker could not take the oldest handle message. True when child_process has given up on
 * it (closed the handle, sent the next): the lane must move on as if it had been acknowledged,
 * or it waits for ever for an ACK that never comes.
 */
export function nacked(lane: Lane): boolean {
  lane.nacks++;
  return lane.nacks > MAX_RETRANSMISSIONS;
}
