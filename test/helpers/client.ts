/** Test clients: real sockets on loopback. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

export const HOST = "127.0.0.1";

export function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * Send `payload` in `chunk`-sized writes while reading concurrently, then half-close and collect
 * everything until the server ends its side. Resolves with what came back.
 */
export function echoThrough(
  port: number,
  payload: Buffer,
  chunk = 64 * 1024,
  timeoutMs = 60_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`echo of ${payload.length} bytes timed out`));
    }, timeoutMs);
    socket.on("data", (data: Buffer) => received.push(data));
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    let offset = 0;
    const writeMore = (): void => {
      while (offset < payload.length) {
        const end = Math.min(offset + chunk, payload.length);
        const ok = socket.write(payload.subarray(offset, end));
        offset = end;
        if (!ok) {
          socket.once("drain", writeMore);
          return;
        }
      }
      socket.end();
    };
    socket.once("connect", writeMore);
  });
}

/** One round trip on an open socket: write `payload`, resolve when as many bytes came back. */
export function roundTrip(socket: Socket, payload: Buffer, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      socket.off("data", onData);
      reject(new Error("round trip timed out"));
    }, timeoutMs);
    const onData = (data: Buffer): void => {
      parts.push(data);
      got += data.length;
      if (got >= payload.length) {
        clearTimeout(timer);
        socket.off("data", onData);
        resolve(Buffer.concat(parts));
      }
    };
    socket.on("data", onData);
    socket.write(payload);
  });
}

export function random(size: number): Buffer {
  return randomBytes(size);
}

/** Fails unless `got` is `sent`, byte for byte, naming the first byte that differs. */
export function assertEchoed(sent: Buffer, got: Buffer): void {
  const at = firstDifference(sent, got);
  assert.equal(at, -1, `echo differs at byte ${at} of ${sent.length} (got ${got.length} bytes)`);
}

/** Where two buffers first differ, or -1 (a helpful assertion message beats a 8 MiB diff). */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * A rush of short connections: `loops` concurrent loops, each opening `each` connections one
 * after another, every one echoing 64 random bytes and checked. Enough (64 x 20) to make the
 * handoff primary spill.
 */
export async function echoRush(port: number, loops = 64, each = 20): Promise<void> {
  const loop = async (): Promise<void> => {
    for (let i = 0; i < each; i++) {
      const payload = random(64);
      assert.deepEqual(await echoThrough(port, payload), payload);
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
}

/** Resolves once a new connection to `port` is refused. */
export async function refused(port: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = connect({ host: HOST, port });
      s.once("connect", () => {
        s.destroy();
        resolve(undefined);
      });
      s.once("error", resolve);
    });
    if (error?.code === "ECONNREFUSED") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("new connections are still accepted while draining");
}
