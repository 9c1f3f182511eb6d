/**
 * A crash loop: workers that keep dying will not come right by being replaced again. After
 * CRASHES exits of ready workers within WINDOW_S seconds, the server stops with one line and
 * exit 1 (ECHOPLEX_CRASH_LOOP) rather than restart forever.
 */
import { EchoplexError } from "../errors.ts";

export const CRASHES = 5;
export const WINDOW_S = 60;

export class CrashWindow {
  readonly #times: number[] = [];

  /** A ready worker exited; true when that makes a crash loop. */
  record(now = Date.now()): boolean {
    this.#times.push(now);
    while ((this.#times[0] ?? now) < now - WINDOW_S * 1000) this.#times.shift();
    return this.#times.length >= CRASHES;
  }
}

export function crashLoopError(what: string): EchoplexError {
  return new EchoplexError(
    "ECHOPLEX_CRASH_LOOP",
    `${what} exited ${CRASHES} times within ${WINDOW_S} s; stopping instead of restarting again (read the log lines above for why)`,
  );
}
