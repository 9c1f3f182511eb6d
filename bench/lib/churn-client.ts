/**
 * Connection churn: `concurrency` loops, each connecting, sending one message, reading it back,
 * checking it, and closing with RST (no TIME_WAIT pile-up on the client), again and again until
 * `durationMs` is over.
 */
import { connect } from "node:net";
import { type LoadResult, pattern } from "./workload.ts";

export function churn(
  host: string,
  port: number,
  concurrency: number,
  durationMs: number,
  size = 64,
): Promise<LoadResult> {
  const payload = pattern(size);
  const deadline = performance.now() + durationMs;
  const start = performance.now();
  let connections = 0;
  let errors = 0;
  let mismatches = 0;

  const loop = (resolve: () => void): void => {
    if (performance.now() >= deadline) {
      resolve();
      return;
    }
    const socket = connect({ host, port, noDelay: true });
    let got = 0;
    let bad = false;
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== payload[got + i]) bad = true;
      got += chunk.length;
      if (got < size) return;
      if (bad || got !== size) mismatches++;
      else connections++;
      socket.resetAndDestroy();
      loop(resolve);
    });
    socket.on("error", () => {
      errors++;
      socket.destroy();
      loop(resolve);
    });
  };
  const loops = Array.from({ length: concurrency }, () => new Promise<void>((r) => loop(r)));
  return Promise.all(loops).then(() => ({
    count: connections,
    errors,
    mismatches,
    seconds: (performance.now() - start) / 1000,
  }));
}
