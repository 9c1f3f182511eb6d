import { type Logger, pino } from "pino";

export type { Logger };

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
  return pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}
