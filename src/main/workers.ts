import { type ChildProcess, fork } from "node:child_process";
import type { WorkerOptions, WorkerRole } from "../messages.ts";
import type { Config } from "./config.ts";
import { WORKER_PROCESS_ENTRY } from "./worker-entry.ts";

/** How often workers report their open-connection count (least-connections reads it). */
export const LOAD_INTERVAL_MS = 100;

export function workerOptions(
  config: Config,
  id: number,
  role: WorkerRole,
  port = config.port,
): WorkerOptions {
  return {
    id,
    role,
    host: config.host,
    port,
    logLevel: config.logLevel,
    loadIntervalMs: LOAD_INTERVAL_MS,
    drainMs: config.drainTimeout * 1000,
  };
}

/** A worker process with an IPC channel; its stdout/stderr are the primary's. */
export function forkWorker(options: WorkerOptions): ChildProcess {
  return fork(WORKER_PROCESS_ENTRY, [JSON.stringify(options)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}
