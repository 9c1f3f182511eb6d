/**
 * Steady echo on long-lived connections: `connections` sockets, each with one `size`-byte message
 * in flight (closed loop): send, read it all back, check it, send again, until `durationMs`.
 */
import { connect, type Socket } from "node:net";
import { type LoadResult, pattern } from "./workload.ts";

export function steady(
  host: string,
  port: number,
  connections: number,
  durationMs: number,
  size = 64,
): Promise<LoadResult> {
  const payload = pattern(size);
  const start = performance.now();
  const deadline = start + durationMs;
  let messages = 0;
  let errors = 0;
  let mismatches = 0;

  const run = (socket: Socket, resolve: () => void): void => {
    let got = 0;
    socket.on("data", (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++)
        if (chunk[i] !== payload[(got + i) % size]) mismatches++;
      got += chunk.length;
      while (got >= size) {
        got -= size;
        messages++;
        if (performance.now() >= deadline) {
          socket.destroy();
          resolve();
          return;
        }
        socket.write(payload);
      }
    });
    socket.on("error", () => {
      errors++;
      resolve();
    });
    socket.write(payload);
  };
  const loops = Array.from(
    { length: connections },
    () => new Promise<void>((resolve) => run(connect({ host, port, noDelay: true }), resolve)),
  );
  return Promise.all(loops).then(() => ({
    count: messages,
    errors,
    mismatches,
    seconds: (performance.now() - start) / 1000,
  }));
}
