/**
 * When a figure measures the load client rather than the server. A closed-loop client that is
 * the limit still produces a number, and it looks like server throughput; this says it is not.
 */
import { SATURATED } from "../../src/load/run.ts";
import type { Workload } from "../../src/load/types.ts";

export interface BoundInput {
  readonly workload: Workload;
  /** Cores each client thread used in the window. */
  readonly clientThreadCores: readonly number[];
  /** Cores all server processes used together in the window. */
  readonly serverCores: number;
  readonly workers: number;
  readonly machineCores: number;
}

/**
 * Why a run is client-bound, or [] when it is not: a client thread used a full core; or, in a
 * closed loop (steady, churn), the server did not use the cores it had (its workers, at most
 * the machine's cores), so it was waiting on the client. Open loop sets its own pace, so an idle
 * server is expected there.
 */
export function clientBound(r: BoundInput): string[] {
  const reasons: string[] = [];
  const busiest = Math.max(0, ...r.clientThreadCores);
  if (busiest >= SATURATED) reasons.push(`a client thread used ${busiest.toFixed(2)} cores`);
  const available = Math.min(r.workers, r.machineCores);
  if (r.workload !== "open" && r.serverCores < SATURATED * available)
    reasons.push(`the server used ${r.serverCores.toFixed(2)} of ${available} cores`);
  return reasons;
}
