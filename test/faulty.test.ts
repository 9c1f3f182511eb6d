/**
 * The echo checks must be able to fail: against deliberately faulty echo servers (a flipped,
 * dropped, duplicated or reordered byte) the same helpers the mode suite uses reject the echo.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { describe, it } from "node:test";
import { assertEchoed, echoThrough, random } from "./helpers/client.ts";

type Fault = (chunk: Buffer, offset: number) => Buffer;

const FAULTS: Record<string, Fault> = {
  "flips a bit": (c, off) =>
    off === 0 && c.length > 10
      ? Buffer.concat([c.subarray(0, 10), Buffer.from([(c[10] as number) ^ 1]), c.subarray(11)])
      : c,
  "drops a byte": (c, off) =>
    off === 0 && c.length > 10 ? Buffer.concat([c.subarray(0, 10), c.subarray(11)]) : c,
  "duplicates a byte": (c, off) => (off === 0 ? Buffer.concat([c.subarray(0, 1), c]) : c),
  "swaps two bytes": (c, off) => {
    if (off !== 0 || c.length < 12 || c[10] === c[11]) return c;
    const copy = Buffer.from(c);
    copy[10] = c[11] as number;
    copy[11] = c[10] as number;
    return copy;
  },
};

function faultyServer(fault: Fault): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let offset = 0;
    socket.on("data", (chunk: Buffer) => {
      socket.write(fault(chunk, offset));
      offset += chunk.length;
    });
    socket.on("end", () => socket.end());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("the echo checks catch a faulty server", () => {
  for (const [name, fault] of Object.entries(FAULTS)) {
    it(`one that ${name}`, async (t) => {
      const server = await faultyServer(fault);
      t.after(() => server.close());
      const port = (server.address() as { port: number }).port;
      let payload = random(4096);
      while (payload[10] === payload[11]) payload = random(4096);
      const got = await echoThrough(port, payload);
      assert.throws(() => assertEchoed(payload, got), assert.AssertionError);
    });
  }
});
