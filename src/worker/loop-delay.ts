/**
 * The event loop's delay, for /metrics: sampled every RESOLUTION_MS, summed up over windows of
 * WINDOW_MS (p99 and max of each window). Reading it does not reset it: a scrape may read it
 * many times (prom-client collects each metric on its own) and the single loop is read at every
 * scrape, which before this reset the histogram after the first metric and showed 0.
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
    this.#p99 = beyondInterval(h.percentile(99));
    this.#max = beyondInterval(h.max);
    h.reset();
  }
}
