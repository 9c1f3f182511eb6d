/**
 * Mutation of valid inputs: a few byte-level edits (flip, set, insert, delete, duplicate a slice,
 * cut the end) applied to a valid message, so generated cases stay near what a parser accepts
 * and reach the code behind it, not only its first check.
 */
import fc from "fast-check";

type Edit =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly byte: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly n: number }
  | { readonly op: "repeat"; readonly at: number; readonly n: number; readonly times: number }
  | { readonly op: "cut"; readonly at: number };

/** Positions are fractions of the current length, so an edit applies to any input. */
const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const SPECIAL = [0, 9, 10, 13, 32, 34, 37, 44, 47, 58, 59, 63, 127, 128, 255];

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant("set" as const),
    at,
    byte: fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ op: fc.constant("insert" as const), at, bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at, n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    op: fc.constant("repeat" as const),
    at,
    n: fc.integer({ min: 1, max: 32 }),
    times: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ op: fc.constant("cut" as const), at }),
);

function apply(input: Buffer, e: Edit): Buffer {
  const i = Math.floor(e.at * input.length);
  switch (e.op) {
    case "flip": {
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      out[i] = (out[i] as number) ^ (1 << e.bit);
      return out;
    }
    case "set": {
      if (input.length === 0) return Buffer.from([e.byte]);
      const out = Buffer.from(input);
      out[i] = e.byte;
      return out;
    }
    case "insert":
      return Buffer.concat([input.subarray(0, i), e.bytes, input.subarray(i)]);
    case "delete":
      return Buffer.concat([input.subarray(0, i), input.subarray(i + e.n)]);
    case "repeat": {
      const slice = input.subarray(i, i + e.n);
      return Buffer.concat([
        input.subarray(0, i),
        ...Array(e.times).fill(slice),
        input.subarray(i),
      ]);
    }
    case "cut":
      return input.subarray(0, i);
  }
}

/** `valid` with 1 to 4 edits. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([input, edits]) => edits.reduce(apply, input));
}

/** Split `data` into 1 to 4 writes at generated points (parsers must not care where). */
export function split(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) parts.push(data.subarray(from, p));
    from = Math.max(from, p);
  }
  parts.push(data.subarray(from));
  return parts;
}

export const cuts = fc.array(at, { maxLength: 3 });
