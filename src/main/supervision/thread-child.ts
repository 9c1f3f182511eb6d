/**
 * A worker thread as the supervisor sees a child process (supervisor.ts, Supervised): messages,
 * one exit, send, and kill as terminate(). A thread has no signal and no IPC handles, so exits
 * carry no signal and messages no handle.
 */
import { EventEmitter } from "node:events";
import { Worker } from "node:worker_threads";
import type { ToWorker, WorkerOptions } from "../../messages.ts";
import { WORKER_THREAD_ENTRY } from "./worker-entry.ts";

export class ThreadChild extends EventEmitter {
  readonly #worker: Worker;
  readonly pid: number | undefined = undefined;
  /** The thread's id, for logs. */
  readonly threadId: number;
  exitCode: number | null = null;
  readonly signalCode: NodeJS.Signals | null = null;

  constructor(options: WorkerOptions) {
    super();
    this.#worker = new Worker(WORKER_THREAD_ENTRY, { workerData: options });
    this.threadId = this.#worker.threadId;
    this.#worker.on("message", (message: unknown) => this.emit("message", message, undefined));
    this.#worker.on("error", (err: Error) => this.emit("error", err));
    this.#worker.once("exit", (code: number) => {
      this.exitCode = code;
      this.emit("exit", code, null);
    });
  }

  get connected(): boolean {
    return this.exitCode === null;
  }

  send(message: ToWorker, done: (err: Error | null) => void): boolean {
    this.#worker.postMessage(message);
    queueMicrotask(() => done(null));
    return true;
  }

  kill(_signal: "SIGKILL"): boolean {
    void this.#worker.terminate();
    return true;
  }
}
