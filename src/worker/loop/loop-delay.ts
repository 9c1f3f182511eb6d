/**
 * The event loop's delay, for /metrics: sampled every RESOLUTION_MS, summed up over windows of
 * WINDOW_MS (p99 and max of each window). Reading it does not reset it: a scrape may read it
 * many times (prom-client collects each metric on its own) and the single loop is read at every
 * scrape, which before this reset the histogram after the first metric and showed 0.
 *
 * A stall that ends a window can fall between the windows: after it, libuv may run the window's
 * timer before the histogram's, and the reset then also restarts the histogram's clock, so the
 * stall is never recorded (a test saw 0.004 s after a 0.6 s stall, once in 11 runs under load).
 * The window's own timer was held up by that same stall, so its lateness counts towards the max.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

const RESOLUTION_MS = 10;
const WINDOW_MS = 1_000;

/** A sample in ns less the sampling interval, in seconds (an idle loop reads 10 ms). */
function beyondInterval(ns: number): number {
  return Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000;
}

export class LoopDelay {
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #timer: NodeJS.Timeout;
  #p99 = 0;
  #max = 0;
  /** When the next window's timer is due (performance.now()). */
  #due = performance.now() + WINDOW_MS;

  constructor() {
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#window(), WINDOW_MS);
    this.#timer.unref();
  }

  /** p99 and max of the last whole window, in seconds. */
  get latest(): { p99: number; max: number } {
    return { p99: this.#p99, max: this.#max };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  #window(): void {
    const h = this.#histogram;
    const now = performance.now();
    this.#p99 = beyondInterval(h.percentile(99));
    this.#max = windowMax(h.max, now - this.#due);
    this.#due = now + WINDOW_MS; // setInterval counts the next one from this callback's start
    h.reset();
  }
}

/**
 * A window's max delay, in seconds: the histogram's max (ns), or how late the window's own timer
 * ran (ms), whichever is more; each less the sampling interval (an idle loop's jitter).
 */
export function windowMax(histogramMaxNs: number, windowLateMs: number): number {
  return Math.max(beyondInterval(histogramMaxNs), Math.max(0, windowLateMs - RESOLUTION_MS) / 1000);
}
