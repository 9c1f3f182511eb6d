/**
 * Balancing, as pure functions of what the primary knows about each worker. Both policies keep
 * every worker's open-connection count within a slack of the least loaded one; a worker that has
 * not acknowledged a handle for a while (stalled: stopped, swamped) is left out of that minimum,
 * so one stuck worker cannot hold up the others.
 */
import type { Balance } from "../config/config.ts";

/** What the balancer needs to know about a worker. */
export interface Candidate {
  /** Alive and ready to take connections. */
  readonly ready: boolean;
  /** No handle is in flight on its IPC channel: a handle sent now goes out at once. */
  readonly free: boolean;
  /** Has had a handle in flight for too long. */
  readonly stalled: boolean;
  /** Estimated open connections. */
  readonly load: number;
}

/** The lowest load among ready workers that are not stalled (Infinity when there is none). */
export function minLoad(candidates: readonly Candidate[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const c of candidates) if (c.ready && !c.stalled && c.load < min) min = c.load;
  return min;
}

/** How far above the least loaded worker another may get: 2.5% of the total, at least 2. */
export function slack(candidates: readonly Candidate[]): number {
  let total = 0;
  for (const c of candidates) if (c.ready) total += c.load;
  return Math.max(2, Math.ceil(total / 40));
}

/**
 * The worker to hand the next connection to, or -1 when none may take it now (the connection
 * then waits in the primary's queue). Only free channels are considered — a busy one would hold
 * the handle behind its pending acknowledgement — and only workers within the slack of the least
 * loaded. Scanning starts at `cursor`: round-robin takes the first eligible worker, and
 * least-connections the least loaded, ties broken in rotation.
 */
export function pick(candidates: readonly Candidate[], policy: Balance, cursor: number): number {
  const n = candidates.length;
  const ceiling = minLoad(candidates) + slack(candidates);
  let best = -1;
  for (let i = 0; i < n; i++) {
    const j = (cursor + i) % n;
    const c = candidates[j];
    if (c === undefined || !c.ready || !c.free || c.load > ceiling) continue;
    if (policy === "round-robin") return j;
    if (best === -1 || c.load < (candidates[best] as Candidate).load) best = j;
  }
  return best;
}

/** Grant steps: 5% of all open connections, within these bounds. */
export const GRANT_MIN = 8;
export const GRANT_MAX = 256;

/**
 * How many more open connections a worker may reach while it accepts directly in a spill grant:
 * the grant step (5% of the total load, within GRANT_MIN..GRANT_MAX), less how far the worker is
 * already ahead of the least loaded one. So a grant can never open a gap wider than the step,
 * whatever the others are doing; 0 means "not now". A grant that reaches its ceiling ends early
 * and the listener passes on, so a small step costs round trips, not balance.
 */
export function grantSize(candidates: readonly Candidate[], worker: Candidate): number {
  let total = 0;
  for (const c of candidates) if (c.ready) total += c.load;
  const step = Math.min(GRANT_MAX, Math.max(GRANT_MIN, Math.round(total / 20)));
  const ahead = worker.load - minLoad(candidates);
  return Math.max(0, Math.min(step, step - ahead));
}
