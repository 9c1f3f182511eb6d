/**
 * threads: worker threads in one process, each with its own event loop and its own reusePort
 * listener. A thread cannot receive a socket handle, so the kernel spreads connections.
 */
import { Worker } from "node:worker_threads";
import { EchoplexError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import {
  type FromWorker,
  isFromWorker,
  type Ports,
  type WorkerOptions,
  type WorkerStats,
} from "../../messages.ts";
import type { Config } from "../config.ts";
import { CrashWindow, crashLoopError } from "../crash-loop.ts";
import type { StartTopology, TopologyMetrics } from "../topology.ts";
import { WORKER_THREAD_ENTRY } from "../worker-entry.ts";
import { boundPorts, configPorts, workerOptions } from "../workers.ts";

/** After the drain timeout, how long threads get to exit before terminate() (as processes). */
const EXIT_GRACE_MS = 3_000;

export const startThreads: StartTopology = async (config, log, fatal) => {
  const threads = new Threads(config, log, fatal);
  try {
    const asked = configPorts(config);
    const ports = boundPorts(asked, await threads.add(0, asked));
    for (let id = 1; id < config.workers; id++) await threads.add(id, ports);
    return {
      ports,
      workers: () => ({ ready: threads.readyCount(), of: config.workers }),
      restart: (ms) => threads.restart(config.workers, ports, ms),
      metrics: () => threads.metrics(),
      stop: (ms) => threads.stop(ms),
    };
  } catch (err) {
    await threads.stop(0);
    throw err;
  }
};

class Threads {
  readonly #workers = new Map<number, Worker>();
  /** Ids of the threads that said ready and have not exited since. */
  readonly #ready = new Set<number>();
  readonly #stats = new Map<number, WorkerStats>();
  #restarts = 0;
  readonly #crashes = new CrashWindow();
  /** Ids that have had a ready thread. */
  readonly #served = new Set<number>();
  readonly #fatal: (err: Error) => void;
  #stopping = false;
  #rolling = false;
  /** Threads outside `#workers`: successors starting in a rolling restart, predecessors draining. */
  readonly #aside = new Set<Worker>();
  readonly #config: Config;
  readonly #log: Logger;

  constructor(config: Config, log: Logger, fatal: (err: Error) => void) {
    this.#fatal = fatal;
    this.#config = config;
    this.#log = log;
  }

  /** Start thread `id` listening on `ports`; resolves with the bound ports once it is ready. */
  add(id: number, ports: Ports): Promise<Ports> {
    return this.#start(id, ports, true).then(([bound]) => bound);
  }

  /** Rolling restart, as Supervisor.restart: each successor is ready before its predecessor drains. */
  async restart(count: number, ports: Ports, ms: number): Promise<void> {
    if (this.#rolling || this.#stopping) return;
    this.#rolling = true;
    try {
      for (let id = 0; id < count; id++) {
        const [, next] = await this.#start(id, ports, false);
        this.#aside.delete(next);
        if (this.#stopping) {
          next.postMessage({ t: "drain", ms: 0 });
          return;
        }
        const old = this.#workers.get(id);
        this.#workers.set(id, next);
        this.#ready.add(id);
        if (old !== undefined) {
          this.#aside.add(old);
          old.postMessage({ t: "drain", ms });
        }
      }
    } finally {
      this.#rolling = false;
    }
  }

  #start(id: number, ports: Ports, install: boolean): Promise<[Ports, Worker]> {
    const options: WorkerOptions = workerOptions(this.#config, id, "reuseport", ports);
    const worker = new Worker(WORKER_THREAD_ENTRY, { workerData: options });
    if (install) this.#workers.set(id, worker);
    else this.#aside.add(worker);
    return new Promise((resolve, reject) => {
      let ready = false;
      const limit = Math.round(this.#config.startTimeout * 1000);
      const timer = setTimeout(() => {
        if (ready) return;
        reject(
          new EchoplexError(
            "ECHOPLEX_WORKER_FAILED",
            `worker thread ${id} was not ready within --start-timeout (${limit / 1000} s); terminated it`,
          ),
        );
        void worker.terminate();
      }, limit);
      worker.once("exit", () => clearTimeout(timer));
      worker.on("message", (message: unknown) => {
        if (!isFromWorker(message)) return;
        const m: FromWorker = message;
        if (m.t === "stats") {
          if (this.#workers.get(id) === worker) this.#stats.set(id, m.stats);
        } else if (m.t === "ready") {
          ready = true;
          clearTimeout(timer);
          if (install) this.#ready.add(id);
          this.#served.add(id);
          resolve([m.ports, worker]);
        } else if (m.t === "failed") reject(new EchoplexError(m.code as never, m.message));
      });
      worker.on("error", (err) =>
        this.#log.error({ worker: id, err: err.message }, "worker thread error"),
      );
      worker.on("exit", (code) => {
        // A predecessor done draining, or a successor that failed: nothing to replace.
        this.#aside.delete(worker);
        if (this.#workers.get(id) !== worker) {
          if (!ready)
            reject(
              new EchoplexError(
                "ECHOPLEX_WORKER_FAILED",
                `worker thread ${id} exited before it was ready`,
              ),
            );
          return;
        }
        this.#workers.delete(id);
        this.#ready.delete(id);
        if (!ready) {
          reject(
            new EchoplexError(
              "ECHOPLEX_WORKER_FAILED",
              `worker thread ${id} exited before it was ready (code ${code})`,
            ),
          );
        }
        // A thread that dies while replacing another is replaced in turn (see supervisor.ts).
        if (this.#stopping || !this.#served.has(id)) return;
        // Only threads that cannot start make a crash loop (see supervisor.ts).
        if (!ready && this.#crashes.record()) {
          this.#fatal(crashLoopError("replacement worker threads"));
          return;
        }
        this.#log.warn({ worker: id, code }, "worker thread exited; replacing it");
        this.#restarts++;
        setTimeout(() => {
          // A rolling restart may have put a successor in the slot meanwhile: it stays.
          if (!this.#stopping && !this.#workers.has(id))
            this.add(id, ports).catch((err: Error) =>
              this.#log.error({ err: err.message }, "replacement thread failed"),
            );
        }, 100);
      });
    });
  }

  metrics(): TopologyMetrics {
    return { workers: this.#stats, restarts: this.#restarts };
  }

  /** Threads running and ready. */
  readyCount(): number {
    return this.#ready.size;
  }

  /** Drain every thread for `ms`; a thread still running EXIT_GRACE_MS later is terminated. */
  async stop(ms: number): Promise<void> {
    this.#stopping = true;
    const all = [...this.#workers.values(), ...this.#aside];
    const exits = all.map((w) => new Promise((r) => w.once("exit", r)));
    for (const w of all) w.postMessage({ t: "drain", ms });
    const killer = setTimeout(() => {
      for (const w of all) void w.terminate();
    }, ms + EXIT_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(killer);
  }
}
