/**
 * One client thread's counts for the measured window: messages completed, bytes, failures, and
 * the latency histogram. Work done before the window (warm-up) or after it is not counted; a
 * failure is counted whenever it happens, so none is hidden by the window, and once more in
 * `failedInWindow` when it happens within it: with the messages, the share of attempts that
 * failed (a churned connection, a datagram).
 */

import type { GroupResult } from "../types.ts";
import { createHistogram, encodeHistogram } from "./histogram.ts";
import type { Slicer } from "./intervals.ts";

export class Meter {
  /** The window, in this thread's performance.now() milliseconds. */
  from = Number.POSITIVE_INFINITY;
  to = Number.POSITIVE_INFINITY;
  messages = 0;
  bytes = 0;
  errors = 0;
  timeouts = 0;
  mismatches = 0;
  stalled = 0;
  lost = 0;
  reordered = 0;
  late = 0;
  failedInWindow = 0;
  /** --interval: the window in slices, each sent to the main thread as it ends; else null. */
  slicer: Slicer | null = null;
  private readonly histogram = createHistogram();
  /** Open loop: from the actual send, which the client's 1 ms timer can make late. */
  private readonly service = createHistogram();
  private cpu0 = 0;
  private cpuSeconds = 0;

  /**
   * A message (or a churn connection) that began at `since` ended at `now`. In the open loop
   * `since` is the intended send time and `sentAt` the actual one.
   */
  complete(now: number, since: number, sentAt = since): void {
    if (now < this.from || now >= this.to) return;
    this.messages++;
    const ns = Math.round((now - since) * 1e6);
    this.histogram.recordValue(ns);
    this.slicer?.complete(now - this.from, ns);
    this.service.recordValue(Math.round((now - sentAt) * 1e6));
  }

  /** An error, timeout or loss at `now` (counted in its own counter by the caller). */
  failed(now: number): void {
    if (now >= this.from && now < this.to) {
      this.failedInWindow++;
      this.slicer?.failed(now - this.from);
    }
  }

  received(now: number, n: number): void {
    if (now >= this.from && now < this.to) this.bytes += n;
  }

  windowOpened(): void {
    const cpu = process.threadCpuUsage();
    this.cpu0 = cpu.user + cpu.system;
  }

  windowClosed(): void {
    const cpu = process.threadCpuUsage();
    this.cpuSeconds = (cpu.user + cpu.system - this.cpu0) / 1e6;
  }

  result(): GroupResult {
    return {
      messages: this.messages,
      bytes: this.bytes,
      errors: this.errors,
      timeouts: this.timeouts,
      mismatches: this.mismatches,
      stalled: this.stalled,
      lost: this.lost,
      reordered: this.reordered,
      late: this.late,
      failedInWindow: this.failedInWindow,
      cpuSeconds: this.cpuSeconds,
      histogram: encodeHistogram(this.histogram),
      service: encodeHistogram(this.service),
      intervals: this.slicer?.sent ?? [],
    };
  }
}
