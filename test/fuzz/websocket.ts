/**
 * Generated WebSocket frames after a real upgrade: opcodes (data, control, reserved), masking
 * (clients must mask), fragmentation, control frames over 125 bytes, invalid UTF-8 in text,
 * close codes, RSV bits, length encodings that lie, sizes around --max-message; and mutations
 * of valid frame sequences.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { mutated } from "./mutate.ts";

export const MAX_MESSAGE = 4096;

export interface Frame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Uint8Array;
  /** Encode the length in 16 or 64 bits even when it fits in 7 (or lie about it). */
  readonly lengthForm: "shortest" | "16" | "64" | "lie";
}

export function encode(f: Frame): Buffer {
  const n = f.payload.length;
  const head = [(f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode];
  const mask = f.masked ? 0x80 : 0;
  const form =
    f.lengthForm === "shortest" ? (n < 126 ? "7" : n < 65_536 ? "16" : "64") : f.lengthForm;
  const len = Buffer.alloc(form === "7" ? 0 : form === "16" ? 2 : 8);
  if (form === "7") head.push(mask | n);
  else if (form === "16") {
    head.push(mask | 126);
    len.writeUInt16BE(n & 0xffff);
  } else {
    head.push(mask | 127);
    // "lie": a 64-bit length with the top bit set (not allowed) or far beyond what follows.
    len.writeBigUInt64BE(form === "lie" ? 0x8000_0000_0000_0000n + BigInt(n) : BigInt(n));
  }
  const key = f.masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(f.payload);
  if (f.masked)
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([Buffer.from(head), len, key, body]);
}

const closePayload = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        1000,
        1001,
        1002,
        1003,
        1005,
        1006,
        1007,
        1008,
        1009,
        1011,
        1015,
        2999,
        3000,
        4999,
        5000,
        0,
        65_535,
      ),
      fc.integer({ min: 0, max: 65_535 }),
    ),
    fc.uint8Array({ maxLength: 130 }),
  )
  .map(([code, reason]) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, reason]);
  });

const invalidUtf8 = fc.constantFrom(
  Buffer.from([0xc3]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from("ok\u0000ok"),
);

const payload = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: MAX_MESSAGE - 2, max: MAX_MESSAGE + 2 })
      .map((n) => new Uint8Array(n).fill(97)),
  },
  { weight: 1, arbitrary: invalidUtf8 },
  { weight: 1, arbitrary: closePayload },
);

const frame: fc.Arbitrary<Frame> = fc.record({
  fin: fc.boolean(),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 7 })),
  opcode: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) },
    fc.integer({ min: 0, max: 15 }),
  ),
  masked: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
  payload,
  lengthForm: fc.oneof(
    { weight: 8, arbitrary: fc.constant("shortest" as const) },
    fc.constantFrom("16" as const, "64" as const, "lie" as const),
  ),
});

/** A valid exchange: text and binary messages, some fragmented, a ping, a close. */
const valid: fc.Arbitrary<Buffer> = fc
  .array(fc.tuple(fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 300 }), fc.boolean()), {
    minLength: 1,
    maxLength: 4,
  })
  .map((messages) => {
    const frames: Frame[] = [];
    for (const [opcode, data, fragmented] of messages) {
      const text =
        opcode === 1 ? Buffer.from(Buffer.from(data).toString("base64")) : Buffer.from(data);
      const base = { rsv: 0, masked: true, lengthForm: "shortest" as const };
      if (fragmented && text.length > 1) {
        const half = text.length >> 1;
        frames.push({ ...base, fin: false, opcode, payload: text.subarray(0, half) });
        frames.push({ ...base, fin: true, opcode: 9, payload: Buffer.from("ping") });
        frames.push({ ...base, fin: true, opcode: 0, payload: text.subarray(half) });
      } else frames.push({ ...base, fin: true, opcode, payload: text });
    }
    return Buffer.concat(frames.map(encode));
  });

/** What follows the upgrade on one connection. */
export const wsStream: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .array(frame, { minLength: 1, maxLength: 6 })
    .map((frames) => Buffer.concat(frames.map(encode))),
  mutated(valid),
);

export function upgradeRequest(): string {
  return (
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}
