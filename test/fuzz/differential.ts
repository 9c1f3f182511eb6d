/**
 * Differential testing of the HTTP fast path: the same bytes, cut at the same points, to a
 * server with the fast path and to one without; the answers must match once what legitimately
 * differs is set aside (normalize()). With DIFF_DUMP=FILE, a failing case is also written to
 * FILE as JSON (the stream in base64, the cut points, both normalized answers) to study it.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import fc from "fast-check";
import type { RunningServer } from "../helpers/server.ts";
import { fastStream } from "./http-fast.ts";
import { cuts } from "./mutate.ts";
import { CASE_MS, connectTo } from "./surface.ts";

export interface Stream {
  readonly data: Buffer;
  /** Where to cut it into separate writes (fractions of its length). */
  readonly cuts: readonly number[];
}

export const streams: fc.Arbitrary<Stream> = fc.record({ data: fastStream, cuts });

export interface DifferOptions {
  readonly seed: number;
  readonly numRuns?: number;
  readonly ms?: number;
  readonly streams?: fc.Arbitrary<Stream>;
}

/** Send every generated stream to both servers; resolves with how many answers there were. */
export async function differ(
  fast: RunningServer,
  slow: RunningServer,
  o: DifferOptions,
): Promise<{ requests: number }> {
  const seen = { requests: 0 };
  await fc.assert(
    fc.asyncProperty(o.streams ?? streams, async (s) => {
      const points = cutPoints(s.data, s.cuts);
      const [a, b] = await Promise.all([
        exchange(fast.listening.http as number, s.data, points),
        exchange(slow.listening.http as number, s.data, points),
      ]);
      seen.requests += normalize(b).split("HTTP/1.1 ").length - 1;
      const [na, nb] = [normalize(a), normalize(b)];
      if (na === nb) return;
      if (process.env.DIFF_DUMP) {
        writeFileSync(
          process.env.DIFF_DUMP,
          JSON.stringify({ data: s.data.toString("base64"), points, na, nb }),
        );
      }
      const at = [...na].findIndex((c, i) => c !== nb[i]);
      const around = (x: string) => JSON.stringify(x.slice(Math.max(0, at - 300), at + 200));
      assert.fail(
        `the fast path answered differently from byte ${at}:\n fast: ${around(na)}\n node: ${around(nb)}\n fast ends: ${JSON.stringify(na.slice(-120))}\n node ends: ${JSON.stringify(nb.slice(-120))}`,
      );
    }),
    {
      seed: o.seed,
      ...(o.ms === undefined
        ? { numRuns: o.numRuns ?? 100 }
        : { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: o.ms }),
      endOnFailure: true,
    },
  );
  return seen;
}

/** Write the stream in parts cut at `points` (a pause between them), half-close, read it all. */
function exchange(port: number, data: Buffer, points: readonly number[]): Promise<Buffer> {
  const parts = cut(data, points);
  const socket: Socket = connectTo(port);
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`neither answered nor closed within ${CASE_MS} ms`));
    }, CASE_MS);
    socket.on("data", (d: Buffer) => got.push(d));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    socket.once("connect", async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 2));
        if (socket.destroyed) return;
        socket.write(part);
      }
      socket.end();
    });
  });
}

/** Byte offsets from fractions of the length: inside the data, sorted, once each. */
function cutPoints(data: Buffer, at: readonly number[]): number[] {
  return [...new Set(at.map((c) => Math.floor(c * data.length)))]
    .filter((p) => p > 0 && p < data.length)
    .sort((x, y) => x - y);
}

function cut(data: Buffer, points: readonly number[]): Buffer[] {
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(data.subarray(from, p));
    from = p;
  }
  parts.push(data.subarray(from));
  return parts;
}

/** Set aside what differs between two servers: Date, the client's port, the pid. */
export function normalize(raw: Buffer): string {
  return (
    raw
      .toString("latin1")
      .replace(/\r\nDate: [^\r]*/g, "")
      .replace(/"remotePort":\d+/g, '"remotePort":0')
      .replace(/"pid":\d+/g, '"pid":0')
      // A JSON description's length follows those numbers' digits.
      .replace(/content-length: \d+(\r\n(?:[^\r]+\r\n)*\r\n\{)/g, "content-length: N$1")
  );
}
