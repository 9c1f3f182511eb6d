/**
 * Generated HTTP/2 frames after the connection preface (h2c, --http2 on): a request node:http2
 * would answer (HEADERS with a static-table HPACK block, DATA), requests shaping their answers
 * (the http generator's echo_* targets and x-echo-* headers), POSTs with a Content-Length that
 * may lie (the fast path's, h2-fast.ts), frames of every type with random
 * flags, stream ids and payloads, lengths that lie, and mutations of the valid request.
 */
import fc from "fast-check";
import { control, controlValue } from "./http.ts";
import { mutated } from "./mutate.ts";

export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

function frame(type: number, flags: number, stream: number, payload: Uint8Array, lie = -1): Buffer {
  const head = Buffer.alloc(9);
  const length = lie >= 0 ? lie : payload.length;
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

const SETTINGS = frame(4, 0, 0, new Uint8Array(0));
/** GET / on stream 1: :method GET, :path /, :scheme http (static table), :authority "a". */
const GET = frame(1, 0x5, 1, Uint8Array.from([0x82, 0x84, 0x86, 0x41, 0x01, 0x61]));
/** POST / with a body on stream 3. */
const POST = Buffer.concat([
  frame(1, 0x4, 3, Uint8Array.from([0x83, 0x84, 0x86, 0x41, 0x01, 0x61])),
  frame(0, 0x1, 3, Buffer.from("hello")),
]);

/** An HPACK integer after a prefix of `bits` bits whose high bits are `high` (RFC 7541 5.1). */
function int(value: number, bits: number, high: number): number[] {
  const max = (1 << bits) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A string literal, no Huffman coding. */
const str = (s: string): number[] => {
  const bytes = [...Buffer.from(s, "latin1")];
  return [...int(bytes.length, 7, 0), ...bytes];
};

/** A request whose target and x-echo-* headers shape its answer (literals, never indexed). */
const controlled = fc
  .record({
    path: control,
    headers: fc.array(
      fc.tuple(
        fc.constantFrom("status", "delay", "header", "bytes", "chunks", "interval"),
        controlValue,
      ),
      { maxLength: 3 },
    ),
    post: fc.boolean(),
  })
  .map(({ path, headers, post }) => {
    const block = [
      ...[post ? 0x83 : 0x82, 0x86, 0x41, 0x01, 0x61], // :method, :scheme http, :authority a
      ...int(4, 4, 0), // :path (static index 4), literal without indexing
      ...str(path),
      ...headers.flatMap(([name, value]) => [0, ...str(`x-echo-${name}`), ...str(value)]),
    ];
    const head = frame(1, post ? 0x4 : 0x5, 1, Uint8Array.from(block));
    return Buffer.concat([SETTINGS, head, ...(post ? [frame(0, 0x1, 1, Buffer.from("hi"))] : [])]);
  });

/**
 * POST with a Content-Length (the fast path's requests, h2-fast.ts, and its edges): a declared
 * length around the 4 KiB bound that may not match the DATA sent, a stream left open or not,
 * a content type, a path of the echo's or of httpbin's.
 */
const sized = fc
  .record({
    declared: fc.oneof(
      fc.constantFrom("0", "1", "4096", "4097", "007", "1e3", "-1", "99999999999"),
      fc.integer({ min: 0, max: 5000 }).map(String),
    ),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ minLength: 4090, maxLength: 4100 }),
    ),
    exact: fc.boolean(),
    end: fc.boolean(),
    type: fc.option(fc.constantFrom("text/plain", "application/json", ""), { nil: undefined }),
    path: fc.constantFrom("/", "/a?b=1", "/post", "/?echo_status=201", "/?format=json"),
    method: fc.constantFrom(0x83, 0x83, 0x82), // POST (static index 3) or GET
  })
  .map(({ declared, body, exact, end, type, path, method }) => {
    const length = exact ? String(body.length) : declared;
    const block = [
      ...[method, 0x86, 0x41, 0x01, 0x61], // :method, :scheme http, :authority a
      ...int(4, 4, 0), // :path (static index 4), literal without indexing
      ...str(path),
      ...int(28, 4, 0), // content-length (static index 28)
      ...str(length),
      ...(type === undefined ? [] : [...int(31, 4, 0), ...str(type)]), // content-type (31)
    ];
    const head = frame(1, 0x4, 1, Uint8Array.from(block));
    return Buffer.concat([SETTINGS, head, frame(0, end ? 0x1 : 0, 1, body)]);
  });

const valid = fc
  .subarray([GET, POST], { minLength: 1 })
  .map((requests) => Buffer.concat([SETTINGS, ...requests]));

const anyFrame = fc
  .record({
    type: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 0, max: 9 }) },
      fc.integer({ min: 0, max: 255 }),
    ),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.oneof(fc.constantFrom(0, 1, 3, 5, 2, 0x7fffffff, 0x80000001), fc.nat()),
    payload: fc.uint8Array({ maxLength: 64 }),
    lie: fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, fc.integer({ min: 0, max: 0xffffff })),
  })
  .map((f) => frame(f.type, f.flags, f.stream, f.payload, f.lie));

/** What follows the preface on one connection. */
export const h2Stream: fc.Arbitrary<Buffer> = fc.oneof(
  valid,
  controlled,
  sized,
  mutated(sized),
  mutated(valid),
  fc.array(anyFrame, { minLength: 1, maxLength: 6 }).map((fs) => Buffer.concat([SETTINGS, ...fs])),
);
