import type { Balance } from "../config.ts";

/** What the balancer needs to know about a worker. */
export interface Candidate {
  /** Alive and ready to take connections. */
  readonly ready: boolean;
  /** No handle is in flight on its IPC channel: a handle sent now goes out at once. */
  readonly free: boolean;
  /** Estimated open connections. */
  readonly load: number;
}

/**
 * The worker to hand the next connection to, or -1 when no ready worker has a free channel
 * (the connection then waits in the primary's queue). Only free channels are considered: a
 * busy one would hold the handle behind its pending acknowledgement. Scanning starts at
 * `cursor`, so round-robin rotates and least-connections breaks ties in rotation.
 */
export function pick(candidates: readonly Candidate[], policy: Balance, cursor: number): number {
  const n = candidates.length;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const j = (cursor + i) % n;
    const c = candidates[j];
    if (c === undefined || !c.ready || !c.free) continue;
    if (policy === "round-robin") return j;
    if (best === -1 || c.load < (candidates[best] as Candidate).load) best = j;
  }
  return best;
}

/** The lowest load among ready workers (Infinity when none is ready). */
export function minLoad(candidates: readonly Candidate[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const c of candidates) if (c.ready && c.load < min) min = c.load;
  return min;
}
