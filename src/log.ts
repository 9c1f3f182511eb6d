import { createRequire } from "node:module";
import type { Logger, pino as Pino } from "pino";

export type { Logger };

/**
 * pino, loaded when a line is first written: a worker that logs nothing while it serves does
 * not hold it (8.6 MB of a bare process's RSS, docs/BENCHMARKS.md "Worker memory").
 */
export const loadPino: () => typeof Pino = (() => {
  let loaded: typeof Pino | undefined;
  const require = createRequire(import.meta.url);
  return () => {
    loaded ??= (require("pino") as { pino: typeof Pino }).pino;
    return loaded;
  };
})();

/**
 * The log lines other programs read (the bench, the tests, scripts): named once. `listening`
 * carries the bound ports when every worker is ready; `workerStopped` each loop's counts.
 */
export const LINES = {
  listening: "listening",
  stopped: "stopped",
  workerStopped: "worker stopped",
  workerReplaced: "worker exited; replacing it",
  restart: "rolling restart",
  restartDone: "rolling restart done",
  spillStarted: "spill: workers accept directly",
  unsafeResponses:
    "--unsafe-responses on: a request may make its answer a page, a script or a cookie on this server's origin; only for tests no browser shares",
} as const;

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines on stdout. Synchronous writes: a process that exits right after logging (a usage
 * error, the end of a drain) must not lose its last line.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  const pino = loadPino();
  return pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}

/** pino's level numbers: a call below the logger's level writes nothing. */
const LEVEL_VALUES: ReadonlyMap<string | symbol, number> = new Map([
  ["trace", 10],
  ["debug", 20],
  ["info", 30],
  ["warn", 40],
  ["error", 50],
  ["fatal", 60],
  ["silent", Number.POSITIVE_INFINITY],
]);
const nothing = (): void => {};

/**
 * createLogger's logger, made on the first call at or above `level` (a worker's: until then a
 * call below the level is a no-op and pino is not loaded). Anything else asked of it makes it.
 */
export function lazyLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  const threshold = LEVEL_VALUES.get(level) as number;
  let real: Logger | undefined;
  return new Proxy({} as Logger, {
    get(_, name) {
      const value = LEVEL_VALUES.get(name);
      if (value !== undefined && value < threshold) return nothing;
      real ??= createLogger(level, bindings);
      const got = Reflect.get(real, name, real) as unknown;
      return typeof got === "function" ? got.bind(real) : got;
    },
  });
}
