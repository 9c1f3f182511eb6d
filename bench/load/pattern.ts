/**
 * What the load client sends, and how it checks what comes back. A connection's byte stream is
 * the message `VARIANTS` times over, each copy filled differently, then again from the start:
 * every byte differs from its neighbours and neighbouring messages differ, so a flipped,
 * dropped, duplicated or reordered byte (or message) makes the echoed stream differ from the
 * sent one at a known offset. Checking is one native compare per message boundary in a chunk.
 */

/** Messages that differ before the stream repeats. */
export const VARIANTS = 4;

export class Pattern {
  readonly size: number;
  /** The stream's period: VARIANTS messages back to back. */
  readonly period: Buffer;
  /** Message i of a connection is messages[i % VARIANTS], a view into `period`. */
  readonly messages: readonly Buffer[];

  constructor(size: number) {
    this.size = size;
    this.period = Buffer.allocUnsafe(size * VARIANTS);
    for (let i = 0; i < this.period.length; i++)
      this.period[i] = (i * 31 + (i >>> 8) * 7 + 11) & 0xff;
    this.messages = Array.from({ length: VARIANTS }, (_, v) =>
      this.period.subarray(v * size, (v + 1) * size),
    );
  }

  /**
   * True when `chunk[start, end)` is what the stream holds from byte `offset` on. Compares in
   * runs that stop at the end of the period, so no copy is made.
   */
  matches(chunk: Buffer, start: number, end: number, offset: number): boolean {
    const period = this.period;
    let at = offset % period.length;
    let i = start;
    while (i < end) {
      const n = Math.min(end - i, period.length - at);
      if (chunk.compare(period, at, at + n, i, i + n) !== 0) return false;
      i += n;
      at = 0;
    }
    return true;
  }
}
