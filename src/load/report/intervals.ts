/**
 * Load over time (`--interval SECONDS`): each client thread cuts its measured window into slices
 * (messages, failures and a latency histogram per slice) and sends each one to the main thread
 * as it ends; the main thread merges a slice once every thread has sent it and prints it as a
 * row, and keeps the rows, histograms included, in the report (`intervals`), so that `merge`
 * rebuilds the series across hosts exactly.
 */
import type { MessagePort } from "node:worker_threads";
import {
  createHistogram,
  encodeHistogram,
  type Histogram,
  mergeHistograms,
  summarize,
} from "./histogram.ts";

/** One thread's share of one interval. */
export interface Slice {
  readonly index: number;
  readonly messages: number;
  readonly failed: number;
  readonly histogram: string;
}

/** One interval of the run, every thread (or host) merged. */
export interface IntervalRow {
  /** Seconds from the window's start to this interval's end. */
  readonly t_s: number;
  /** The interval's length (the last may be shorter). */
  readonly seconds: number;
  readonly msgs_per_s: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly p999_us: number;
  /** Errors, timeouts and (UDP) losses within the interval. */
  readonly failed: number;
  readonly messages: number;
  /** HDR, compressed (left out of what --json prints). */
  readonly histogram: string;
}

/** A thread's open slices: recorded into as messages complete, sent as each interval ends. */
export class Slicer {
  readonly #ms: number;
  readonly #port: MessagePort | null;
  readonly #open: { messages: number; failed: number; h: Histogram }[] = [];
  readonly sent: Slice[] = [];

  constructor(intervalMs: number, port: MessagePort | null) {
    this.#ms = intervalMs;
    this.#port = port;
  }

  #at(offsetMs: number) {
    const i = Math.floor(offsetMs / this.#ms);
    let s = this.#open[i];
    if (s === undefined) {
      s = { messages: 0, failed: 0, h: createHistogram() };
      this.#open[i] = s;
    }
    return s;
  }

  /** A message that took `ns` completed `offsetMs` into the window. */
  complete(offsetMs: number, ns: number): void {
    const s = this.#at(offsetMs);
    s.messages++;
    s.h.recordValue(ns);
  }

  failed(offsetMs: number): void {
    this.#at(offsetMs).failed++;
  }

  /** Send every slice that ended before `offsetMs` (all of them at the window's end). */
  flush(offsetMs: number, last = false): void {
    while (this.sent.length < this.#count(offsetMs, last)) {
      const index = this.sent.length;
      const s = this.#open[index] ?? { messages: 0, failed: 0, h: createHistogram() };
      const slice = {
        index,
        messages: s.messages,
        failed: s.failed,
        histogram: encodeHistogram(s.h),
      };
      this.#open[index] = undefined as never;
      this.sent.push(slice);
      this.#port?.postMessage(slice);
    }
  }

  #count(offsetMs: number, last: boolean): number {
    return last ? Math.ceil(offsetMs / this.#ms) : Math.floor(offsetMs / this.#ms);
  }
}

/** Interval `index` from every thread's slice of it (`ms` long; the last may be shorter). */
export function mergeSlices(slices: readonly Slice[], index: number, ms: number, windowMs: number) {
  const end = Math.min((index + 1) * ms, windowMs);
  const seconds = (end - index * ms) / 1000;
  return row(
    end / 1000,
    seconds,
    slices.reduce((n, s) => n + s.messages, 0),
    slices.reduce((n, s) => n + s.failed, 0),
    mergeHistograms(slices.map((s) => s.histogram)),
  );
}

function row(
  t: number,
  seconds: number,
  messages: number,
  failed: number,
  h: Histogram,
): IntervalRow {
  const l = summarize(h);
  return {
    t_s: Math.round(t * 1000) / 1000,
    seconds: Math.round(seconds * 1000) / 1000,
    msgs_per_s: seconds > 0 ? Math.round(messages / seconds) : 0,
    p50_us: l.p50_us,
    p99_us: l.p99_us,
    p999_us: l.p999_us,
    failed,
    messages,
    histogram: encodeHistogram(h),
  };
}

/** Hosts' series of the same window, interval by interval (same --interval, same --at). */
export function mergeRows(series: readonly (readonly IntervalRow[])[]): IntervalRow[] {
  const longest = Math.max(0, ...series.map((s) => s.length));
  const out: IntervalRow[] = [];
  for (let i = 0; i < longest; i++) {
    const rows = series.map((s) => s[i]).filter((r) => r !== undefined);
    const first = rows[0] as IntervalRow;
    out.push(
      row(
        first.t_s,
        first.seconds,
        rows.reduce((n, r) => n + r.messages, 0),
        rows.reduce((n, r) => n + r.failed, 0),
        mergeHistograms(rows.map((r) => r.histogram)),
      ),
    );
  }
  return out;
}

/** One line for a person: the interval's end, rate, percentiles and failures. */
export function formatRow(r: IntervalRow): string {
  const ms = (us: number) => (us / 1000).toFixed(us >= 10_000 ? 1 : 3);
  return `  t=${r.t_s}s  ${Math.round(r.msgs_per_s).toLocaleString("en-US")} msg/s  p50 ${ms(r.p50_us)} ms  p99 ${ms(r.p99_us)} ms  p99.9 ${ms(r.p999_us)} ms  failed ${r.failed}`;
}

/** A row as --json prints it (no histogram). */
export function shownRow(r: IntervalRow) {
  const { histogram: _, ...shown } = r;
  return shown;
}
