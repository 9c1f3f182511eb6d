/**
 * What the load client sends, and how it checks what comes back. A connection's byte stream is
 * the message `VARIANTS` times over, each copy filled differently, then again from the start:
 * every byte differs from its neighbours and neighbouring messages differ, so a flipped,
 * dropped, duplicated or reordered byte (or message) makes the echoed stream differ from the
 * sent one at a known offset. Checking is one native compare per message boundary in a chunk.
 *
 * Over WebSocket a message is sent as a masked frame and comes back as the server's frame: the
 * echoed stream is then each server header followed by its payload, checked the same way.
 */
import type { Framing } from "../types.ts";
import { clientFrame, serverHeader } from "./websocket.ts";

/** Messages that differ before the stream repeats. */
export const VARIANTS = 4;

export class Pattern {
  /** Payload bytes per message. */
  readonly size: number;
  /** Bytes of the echoed stream per message: the payload, after a frame header over WebSocket. */
  readonly unit: number;
  /** The echoed stream's period: VARIANTS messages back to back. */
  readonly period: Buffer;
  /** Message i of a connection is messages[i % VARIANTS]: what is written for it. */
  readonly messages: readonly Buffer[];
  private readonly headerBytes: number;

  constructor(size: number, framing: Framing = "tcp") {
    this.size = size;
    const head = framing === "ws" ? serverHeader(size) : Buffer.alloc(0);
    this.headerBytes = head.length;
    this.unit = head.length + size;
    this.period = Buffer.allocUnsafe(this.unit * VARIANTS);
    const payloads: Buffer[] = [];
    for (let v = 0; v < VARIANTS; v++) {
      head.copy(this.period, v * this.unit);
      const payload = this.period.subarray(v * this.unit + head.length, (v + 1) * this.unit);
      for (let j = 0; j < size; j++) {
        const i = v * size + j; // the same bytes as the TCP stream's, whatever the framing
        payload[j] = (i * 31 + (i >>> 8) * 7 + 11) & 0xff;
      }
      payloads.push(payload);
    }
    this.messages = framing === "ws" ? payloads.map(clientFrame) : payloads;
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

  /** Payload bytes in the echoed stream's bytes [from, to): frame headers left out. */
  payloadBytes(from: number, to: number): number {
    const h = this.headerBytes;
    if (h === 0) return to - from;
    const headers = (at: number) => Math.floor(at / this.unit) * h + Math.min(at % this.unit, h);
    return to - from - (headers(to) - headers(from));
  }
}
