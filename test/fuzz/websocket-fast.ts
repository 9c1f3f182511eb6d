/**
 * WebSocket streams near the fast path's edge (src/worker/websocket/fast.ts): an upgrade, then
 * runs of whole masked text and binary frames (every length encoding, sizes around 125, 126,
 * 65,535 and --max-message, text valid and not), with what the fast path must leave to ws mixed
 * in (fragments, pings, pongs, closes, unmasked frames, RSV bits), the general frame generator's
 * frames, and mutations; cut into reads anywhere.
 */
import fc from "fast-check";
import type { Stream } from "./differential.ts";
import { cuts, mutated } from "./mutate.ts";
import { encode, type Frame, MAX_MESSAGE, wsStream } from "./websocket.ts";

/** A fixed key: both servers then answer the upgrade with the same bytes. */
const UPGRADE = Buffer.from(
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.integer({ min: 120, max: 140 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_MESSAGE - 2, max: MAX_MESSAGE + 2 }) },
);

const validText = fc.string({ unit: "grapheme", maxLength: 60 }).map((s) => Buffer.from(s));
const invalidText = fc.constantFrom(
  Buffer.from([0xc3]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf0, 0x9f, 0x98]),
);
const bytes = size.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const shortest = fc.oneof(
  { weight: 8, arbitrary: fc.constant("shortest" as const) },
  fc.constantFrom("16" as const, "64" as const),
);

/** A frame the fast path echoes (unless it is over --max-message). */
const clean: fc.Arbitrary<Frame> = fc
  .oneof(
    bytes.map((payload) => ({ opcode: 2, payload })),
    validText.map((payload) => ({ opcode: 1, payload })),
  )
  .chain((f) =>
    shortest.map((lengthForm) => ({ ...f, fin: true, rsv: 0, masked: true, lengthForm })),
  );

/** A frame near it that the fast path must leave to ws. */
const edge: fc.Arbitrary<Frame> = fc.record({
  fin: fc.boolean(),
  rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constantFrom(1, 4)),
  opcode: fc.constantFrom(0, 1, 2, 8, 9, 10),
  masked: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
  payload: fc.oneof(bytes, validText, invalidText),
  lengthForm: shortest,
});

const frames = fc
  .array(fc.oneof({ weight: 12, arbitrary: clean }, { weight: 1, arbitrary: edge }), {
    minLength: 1,
    maxLength: 10,
  })
  .map((fs) => Buffer.concat(fs.map(encode)));

/** One connection: the upgrade, then 1 to 3 runs of frames, some from the general generator. */
export const wsFastStreams: fc.Arbitrary<Stream> = fc.record({
  data: fc
    .array(
      fc.oneof(
        { weight: 8, arbitrary: frames },
        { weight: 1, arbitrary: mutated(frames) },
        { weight: 1, arbitrary: wsStream },
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((runs) => Buffer.concat([UPGRADE, ...runs])),
  cuts,
});
