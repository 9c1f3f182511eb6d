/**
 * A crash loop: replacement workers that cannot start (a certificate gone bad, code that throws
 * at load) will not come right by being started again. After CRASHES of them fail within
 * WINDOW_S seconds, the server stops with one line and exit 1 (ECHOPLEX_CRASH_LOOP) rather than
 * restart forever. Workers that crash after they served are not counted: they are replaced with
 * back-off for as long as it takes (supervisor.ts), so no client traffic can stop the server.
 */
import { type EchoplexError, fail } from "../../errors.ts";

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
  return fail("ECHOPLEX_CRASH_LOOP", { what, crashes: CRASHES, windowS: WINDOW_S });
}
