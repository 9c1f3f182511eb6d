/** Entry point of a worker process (forked by handoff and reuseport, or by node:cluster). */
import type { WorkerOptions } from "../../messages.ts";
import { isToWorker } from "../../messages.ts";
import { runWorker } from "./run.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as WorkerOptions;

// The primary coordinates shutdown: a Ctrl-C reaches the whole process group, but only the
// primary's drain message (or a SIGTERM sent to this worker alone) drains it.
process.on("SIGINT", () => {});
process.on("SIGTERM", () =>
  process.emit("message", { t: "drain", ms: options.drainMs }, undefined),
);

await runWorker(options, {
  send(message, handle, done) {
    if (!process.connected) return;
    process.send?.(message, handle as never, undefined, (err: Error | null) => {
      if (err === null) done?.();
    });
  },
  onMessage(listener) {
    process.on("message", (message: unknown, handle: object | undefined) => {
      if (isToWorker(message)) listener(message, handle);
    });
  },
  onClose(listener) {
    process.on("disconnect", listener);
  },
});
