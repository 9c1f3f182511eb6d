/**
 * Every connection an echo loop serves, whatever its protocol: the open count least-connections
 * balancing reads, the served count the bench reads, and the drain on shutdown.
 */
import type { Socket } from "node:net";

/** Module state is per isolate: one set per worker process or thread. */
const live = new Set<Socket>();
let served = 0;

function untrack(this: Socket): void {
  live.delete(this);
}

/** Count a new connection until it closes. */
export function track(socket: Socket): void {
  served++;
  live.add(socket);
  socket.once("close", untrack);
}

export function openConnections(): number {
  return live.size;
}

/** Connections this worker has served since it started. */
export function servedConnections(): number {
  return served;
}

/**
 * Let open connections finish for up to `ms`, then destroy the rest. Resolves when none is left.
 */
export function drainConnections(ms: number): Promise<void> {
  if (live.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (live.size === 0) done();
    }, 20);
    const deadline = setTimeout(() => {
      for (const socket of live) socket.destroy();
      done();
    }, ms);
    function done(): void {
      clearInterval(check);
      clearTimeout(deadline);
      // destroy() closes asynchronously; the 'close' events have fired by the next macrotask.
      setImmediate(resolve);
    }
  });
}
