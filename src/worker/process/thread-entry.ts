/** Entry point of a worker thread (threads mode): its own reusePort listener and event loop. */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerOptions } from "../../messages.ts";
import { isToWorker } from "../../messages.ts";
import { runWorker } from "./run.ts";

const port = parentPort;
if (port === null) throw new Error("thread-entry.ts runs only as a worker thread");

await runWorker(workerData as WorkerOptions, {
  send(message, _handle, done) {
    port.postMessage(message);
    done?.();
  },
  onMessage(listener) {
    port.on("message", (message: unknown) => {
      if (isToWorker(message)) listener(message, undefined);
    });
  },
  onClose(listener) {
    port.on("close", listener);
  },
});
