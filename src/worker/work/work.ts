/**
 * CPU work per message (--work), done on the event loop or, with --offload N, on a piscina pool
 * of N threads owned by this worker. Either way the result is the same hex digest.
 */
import { createRequire } from "node:module";
import type { Piscina as Pool } from "piscina";
import type { WorkSpec } from "../../messages.ts";
import { sha256Rounds } from "./digest.ts";
import type { WorkTask } from "./work-task.ts";

export interface Work {
  /** True when digest() returns a promise (the work runs on another thread). */
  readonly offloaded: boolean;
  digest(data: Uint8Array): string | Promise<string>;
  close(): Promise<void>;
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const TASK = new URL(`./work-task${ext}`, import.meta.url).href;

/** The pool's settings (bench/pool.ts measures them against piscina's defaults). */
export function poolOptions(threads: number) {
  return {
    filename: TASK,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Number.POSITIVE_INFINITY,
    // Several queued tasks per thread: a thread that wakes up takes a batch, which cuts the CPU
    // each task costs in wake-ups by more than half (npm run bench:pool).
    concurrentTasksPerWorker: 16,
    recordTiming: false,
  };
}

export function createWork(spec: WorkSpec | null, threads: number): Work | null {
  if (spec === null) return null;
  const { rounds } = spec;
  if (threads === 0) {
    return {
      offloaded: false,
      digest: (data) => sha256Rounds(data, rounds),
      close: () => Promise.resolve(),
    };
  }
  // Required here, not imported at the top: a worker without --offload never loads piscina
  // (~8 MB each). It is CommonJS, so require() loads it synchronously.
  const { Piscina } = createRequire(import.meta.url)("piscina") as { Piscina: typeof Pool };
  const pool = new Piscina<WorkTask, string>(poolOptions(threads));
  return {
    offloaded: true,
    digest(data) {
      // A received chunk is often a view into a larger allocation, which a structured clone
      // would copy whole: copy just its bytes; past 16 KiB, transfer the copy instead of
      // cloning it again (for small ones the transfer costs more than the clone).
      const copy = new Uint8Array(data);
      const task = { data: copy, rounds };
      return copy.length < 16_384
        ? pool.run(task)
        : pool.run(task, { transferList: [copy.buffer] });
    },
    close: () => pool.destroy(),
  };
}
