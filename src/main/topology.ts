import type { Histogram } from "prom-client";
import type { Logger } from "../log.ts";
import type { Ports, WorkerStats } from "../messages.ts";

export interface WorkerCount {
  readonly ready: number;
  readonly of: number;
  /** handoff: workers backing off after refusing a handle, out of descriptors (not in `ready`). */
  readonly outOfDescriptors?: number;
}

/** What /metrics reads from a topology. */
export interface TopologyMetrics {
  /** The latest counters each worker (by id) reported. */
  readonly workers: ReadonlyMap<number, WorkerStats>;
  /** Workers replaced after they exited. */
  readonly restarts: number;
  /** handoff: connections accepted and waiting for a worker. */
  readonly queued?: number;
  /** handoff: the primary's accept errors (workers count theirs in their stats). */
  readonly acceptErrors?: number;
  /** handoff: handles a worker out of descriptors refused (NACK); each went to another worker. */
  readonly handoffsRefused?: number;
  /** handoff: accept-to-worker times (the dispatcher's histogram, registered once). */
  readonly handoffSeconds?: Histogram;
}

import type { Config } from "./config/config.ts";

/** A running server in one of the modes. */
export interface Topology {
  /** The bound ports (the real ones where 0 was asked for; null when off). */
  readonly ports: Ports;
  /** Workers up and taking connections, of how many there should be (fewer while one is replaced). */
  workers(): WorkerCount;
  metrics(): TopologyMetrics;
  /**
   * Rolling restart (SIGHUP): replace the workers one at a time, each successor ready before its
   * predecessor drains for `ms`. Absent in single mode, which has no workers to replace.
   */
  restart?(ms: number): Promise<void>;
  /** New --faults for every HTTP answer, checked already ("off" for none): POST /faults. */
  setFaults(faults: string): void;
  /** Stop accepting, let open connections finish for up to `ms`, close the rest, and resolve. */
  stop(ms: number): Promise<void>;
}

/** `fatal` stops the whole server with an error (a crash loop, src/main/supervision/crash-loop.ts). */
export type StartTopology = (
  config: Config,
  log: Logger,
  fatal: (err: Error) => void,
) => Promise<Topology>;
