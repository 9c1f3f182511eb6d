/**
 * The frames the WebSocket fast path echoes (fast.ts), as functions of a read's bytes:
 * which reads it takes, where a frame's header and payload are, and the echo of a read made in
 * place. Nothing here allocates per frame but a text payload's view for the UTF-8 check.
 */
import { isUtf8 } from "node:buffer";

/** The length of the header at `at` (mask key included), or -1 if `b[at, end)` does not hold it. */
export function headerLength(b: Buffer, at: number, end: number): number {
  if (end - at < 2) return -1;
  const len7 = (b[at + 1] as number) & 0x7f;
  const n = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b[at + 1] as number) & 0x80 ? 4 : 0);
  return end - at >= n ? n : -1;
}

/** The payload length of a whole header at `at`, as ws reads it. */
export function payloadLength(b: Buffer, at: number): number {
  const len7 = (b[at + 1] as number) & 0x7f;
  if (len7 === 126) return b.readUInt16BE(at + 2);
  if (len7 === 127) return b.readUInt32BE(at + 2) * 2 ** 32 + b.readUInt32BE(at + 6);
  return len7;
}

/**
 * The largest payload the fast path echoes. Over it ws is faster (measured: the fast path cost
 * the same CPU per message as ws at 4 KiB, 1.6x at 8 KiB), because of how V8 frees read buffers:
 * the fast path leaves
 * so little garbage that young collections are rare, the reads' buffers pile up as external
 * memory and V8 collects them with major collections (~30 a second at 8 KiB), where ws's
 * per-message garbage brings young collections often enough to free them (docs/BENCHMARKS.md).
 */
export const FAST_FRAME_MAX = 4096;

/**
 * The number of frames in `chunk` if it holds only whole frames the fast path echoes (final,
 * masked, text or binary, no RSV bit, within `max` and FAST_FRAME_MAX), else 0.
 */
export function scan(chunk: Buffer, max: number): number {
  let i = 0;
  let frames = 0;
  while (i < chunk.length) {
    const b0 = chunk[i] as number;
    if ((b0 !== 0x81 && b0 !== 0x82) || ((chunk[i + 1] ?? 0) & 0x80) === 0) return 0;
    const h = headerLength(chunk, i, chunk.length);
    if (h < 0) return 0;
    const len = payloadLength(chunk, i);
    if (len > max || len > FAST_FRAME_MAX || i + h + len > chunk.length) return 0;
    i += h + len;
    frames++;
  }
  return frames;
}

/**
 * Unmask every text frame's payload where it lies and check that it is UTF-8; if one is not, mask
 * them all again (ws gets the read as it came, and closes with 1007) and return false.
 */
export function unmaskText(chunk: Buffer): boolean {
  let i = 0;
  while (i < chunk.length) {
    const h = headerLength(chunk, i, chunk.length);
    const len = payloadLength(chunk, i);
    if (chunk[i] === 0x81) {
      xor(chunk, i + h - 4, i + h, i + h, len);
      if (!isUtf8(chunk.subarray(i + h, i + h + len))) {
        for (let j = 0; j <= i; ) {
          const hj = headerLength(chunk, j, chunk.length);
          const lj = payloadLength(chunk, j);
          if (chunk[j] === 0x81) xor(chunk, j + hj - 4, j + hj, j + hj, lj);
          j += hj + lj;
        }
        return false;
      }
    }
    i += h + len;
  }
  return true;
}

/** `b[to, to + len) = b[from, from + len) ^ mask at b[key, key + 4)`; for to <= from. */
function xor(b: Buffer, key: number, from: number, to: number, len: number): void {
  const m0 = b[key] as number;
  const m1 = b[key + 1] as number;
  const m2 = b[key + 2] as number;
  const m3 = b[key + 3] as number;
  if (len >= WORDS_FROM) {
    if (to !== from) b.copyWithin(to, from, from + len); // may overwrite the key: read above
    xorWords(b, to, len, m0, m1, m2, m3);
    return;
  }
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    b[to + k] = (b[from + k] as number) ^ m0;
    b[to + k + 1] = (b[from + k + 1] as number) ^ m1;
    b[to + k + 2] = (b[from + k + 2] as number) ^ m2;
    b[to + k + 3] = (b[from + k + 3] as number) ^ m3;
  }
  if (k < len) b[to + k] = (b[from + k] as number) ^ m0;
  if (k + 1 < len) b[to + k + 1] = (b[from + k + 1] as number) ^ m1;
  if (k + 2 < len) b[to + k + 2] = (b[from + k + 2] as number) ^ m2;
}

/** Scratch for a mask key as one 32-bit word, in the platform's byte order. */
const KEY = new Uint8Array(4);
const KEY32 = new Uint32Array(KEY.buffer);
/** Payloads from this length up are unmasked a 32-bit word at a time (4x the byte loop). */
const WORDS_FROM = 128;

/** Unmask `b[at, at + len)` in place: bytes up to a 4-byte boundary, then aligned words. */
function xorWords(
  b: Buffer,
  at: number,
  len: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
) {
  const lead = (4 - ((b.byteOffset + at) & 3)) & 3;
  for (let k = 0; k < lead; k++) b[at + k] ^= keyByte(k, m0, m1, m2, m3);
  // The key turned so that its first byte is the one for payload byte `lead`.
  for (let t = 0; t < 4; t++) KEY[t] = keyByte(lead + t, m0, m1, m2, m3);
  const word = KEY32[0] as number;
  const words = (len - lead) >>> 2;
  const view = new Uint32Array(b.buffer, b.byteOffset + at + lead, words);
  for (let j = 0; j < words; j++) view[j] = (view[j] as number) ^ word;
  for (let k = lead + words * 4; k < len; k++) b[at + k] ^= keyByte(k, m0, m1, m2, m3);
}

function keyByte(k: number, m0: number, m1: number, m2: number, m3: number): number {
  const r = k & 3;
  return r === 0 ? m0 : r === 1 ? m1 : r === 2 ? m2 : m3;
}

/**
 * Turn the scanned frames of `chunk` into their echoes, in place and front to back (an echo is 4
 * bytes shorter than its frame, so nothing is overwritten before it is read); returns the
 * echoes' length. Text payloads are unmasked already.
 */
export function echoFrames(chunk: Buffer): number {
  let i = 0;
  let o = 0;
  while (i < chunk.length) {
    const b0 = chunk[i] as number;
    const h = headerLength(chunk, i, chunk.length);
    const len = payloadLength(chunk, i);
    const key = i + h - 4;
    chunk[o] = b0;
    if (len < 126) {
      chunk[o + 1] = len;
      o += 2;
    } else {
      chunk[o + 1] = 126;
      chunk.writeUInt16BE(len, o + 2);
      o += 4;
    }
    if (b0 === 0x81) chunk.copyWithin(o, i + h, i + h + len);
    else xor(chunk, key, i + h, o, len);
    o += len;
    i += h + len;
  }
  return o;
}
