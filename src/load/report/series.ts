/**
 * --interval on the load client's main thread: a port per client thread that its slices arrive
 * on (intervals.ts); an interval is merged and handed to `hooks.interval` once every thread has
 * sent it, in order. At the end the threads' own lists (what they sent) make the report's rows,
 * and any row not yet shown is shown then.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { GroupResult } from "../types.ts";
import { type IntervalRow, mergeSlices, type Slice } from "./intervals.ts";

export interface SeriesHooks {
  interval?(row: IntervalRow): void;
}

export class Series {
  readonly #threads: number;
  readonly #ms: number;
  readonly #windowMs: number;
  readonly #hooks: SeriesHooks | undefined;
  readonly #ports: MessagePort[] = [];
  readonly #pending = new Map<number, Slice[]>();
  #shown = 0;

  constructor(threads: number, ms: number, windowMs: number, hooks: SeriesHooks | undefined) {
    this.#threads = threads;
    this.#ms = ms;
    this.#windowMs = windowMs;
    this.#hooks = hooks;
  }

  /** The thread's end of a new channel (null without --interval). */
  port(): MessagePort | null {
    if (this.#ms === 0) return null;
    const { port1, port2 } = new MessageChannel();
    port1.on("message", (s: Slice) => this.#arrived(s));
    port1.unref();
    this.#ports.push(port1);
    return port2;
  }

  #arrived(s: Slice): void {
    const got = this.#pending.get(s.index) ?? [];
    got.push(s);
    this.#pending.set(s.index, got);
    while ((this.#pending.get(this.#shown)?.length ?? 0) === this.#threads) {
      const slices = this.#pending.get(this.#shown) as Slice[];
      this.#pending.delete(this.#shown);
      this.#hooks?.interval?.(mergeSlices(slices, this.#shown, this.#ms, this.#windowMs));
      this.#shown++;
    }
  }

  /** The report's rows, from every thread's whole list; the rows not shown yet are shown now. */
  finish(results: readonly GroupResult[]): { intervals?: IntervalRow[] } {
    if (this.#ms === 0) return {};
    const count = Math.max(0, ...results.map((r) => r.intervals.length));
    const rows: IntervalRow[] = [];
    for (let i = 0; i < count; i++) {
      const slices = results.map((r) => r.intervals[i]).filter((s) => s !== undefined);
      rows.push(mergeSlices(slices, i, this.#ms, this.#windowMs));
    }
    for (; this.#shown < rows.length; this.#shown++)
      this.#hooks?.interval?.(rows[this.#shown] as IntervalRow);
    return { intervals: rows };
  }

  close(): void {
    for (const p of this.#ports) p.close();
  }
}
