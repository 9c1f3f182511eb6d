/**
 * Where the worker entry points live. Run from source they are .ts files (Node strips the types);
 * built, they are .js files in dist/. Either way they sit at the same place relative to this one.
 */
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

export const WORKER_PROCESS_ENTRY = new URL(
  `../../worker/process/process-entry${ext}`,
  import.meta.url,
);
export const WORKER_THREAD_ENTRY = new URL(
  `../../worker/process/thread-entry${ext}`,
  import.meta.url,
);
