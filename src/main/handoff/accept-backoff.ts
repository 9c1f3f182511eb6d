/**
 * The handoff primary's accept errors. Out of descriptors (EMFILE, ENFILE), libuv first accepts
 * and closes the waiting connections with a descriptor it keeps in reserve, so an error that
 * reaches us means even that failed: rather than fail again on every wake-up, the primary stops
 * accepting for a while (50 ms, doubling to 2 s while it lasts) and leaves new connections
 * waiting in the backlog. Every error is counted, and logged at most once a second.
 */
import { constants } from "node:os";
import type { Logger } from "../../log.ts";
import type { Service } from "../../messages.ts";

const { errno } = constants;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2_000;
const LOG_EVERY_MS = 1_000;

/** The n-th pause in a row (n >= 1): 50 ms, doubling to 2 s. Worker channels back off after NACKs the same way. */
export function backoffMs(n: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (n - 1));
}

export class AcceptBackoff {
  readonly #log: Logger;
  #errors = 0;
  /** Pauses in a row since a connection was last accepted. */
  #pauses = 0;
  #loggedAt = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Accept errors so far (for /metrics). */
  get errors(): number {
    return this.#errors;
  }

  /** A connection was accepted: the next pause starts from the minimum again. */
  accepted(): void {
    this.#pauses = 0;
  }

  /**
   * An accept failed with `status` (a negative errno). Out of descriptors, `pause()` is asked to
   * stop accepting (it needs the listener's spare copy, so it may refuse); returns how long to
   * pause, in ms, or 0.
   */
  failed(status: number, service: Service, pause: () => boolean): number {
    this.#errors++;
    const outOfDescriptors = status === -errno.EMFILE || status === -errno.ENFILE;
    let pausedMs = 0;
    if (outOfDescriptors && pause()) {
      this.#pauses++;
      pausedMs = backoffMs(this.#pauses);
    }
    const now = Date.now();
    if (now - this.#loggedAt >= LOG_EVERY_MS) {
      this.#loggedAt = now;
      this.#log.warn({ status, service, errors: this.#errors, pausedMs }, "accept failed");
    }
    return pausedMs;
  }
}
