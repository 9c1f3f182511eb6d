/**
 * Every connection an echo loop serves, whatever its protocol: the cap on open connections
 * (--max-connections), the idle timeout (--idle-timeout), the open count least-connections
 * balancing reads, the served and refused counts, and the drain on shutdown.
 */
import type { Socket } from "node:net";
import { tally } from "./tally.ts";

/** Module state is per isolate: one set per worker process or thread. */
const live = new Set<Socket>();
let served = 0;
let refused = 0;
/** Bytes of connections that have closed (open ones are summed when asked). */
let closedIn = 0;
let closedOut = 0;
/** Most connections open at once in this loop (0: no limit), and ms of silence before a close. */
let cap = 0;
let idleMs = 0;

export function setLimits(limits: { maxOpen: number; idleMs: number }): void {
  cap = limits.maxOpen;
  idleMs = limits.idleMs;
}

function untrack(this: Socket): void {
  live.delete(this);
  closedIn += this.bytesRead;
  closedOut += this.bytesWritten;
}

/** Bytes read from and written to clients since the loop started. */
export function bytesMoved(): { bytesIn: number; bytesOut: number } {
  let bytesIn = closedIn;
  let bytesOut = closedOut;
  for (const socket of live) {
    bytesIn += socket.bytesRead;
    bytesOut += socket.bytesWritten;
  }
  return { bytesIn, bytesOut };
}
function onIdle(this: Socket): void {
  tally.limits.idleTimeout++;
  this.destroy();
}

/**
 * Admit a new connection: over the cap it is closed at once and counted as refused (false);
 * otherwise it is counted until it closes, and closed after --idle-timeout of silence.
 */
export function admit(socket: Socket): boolean {
  if (cap > 0 && live.size >= cap) {
    refused++;
    socket.destroy();
    return false;
  }
  served++;
  live.add(socket);
  socket.once("close", untrack);
  if (idleMs > 0) socket.setTimeout(idleMs, onIdle);
  return true;
}

export function openConnections(): number {
  return live.size;
}

/**
 * A TLS connection was admitted (and counted) as the raw socket it arrived on; its idle timer
 * runs there too, and sees the TLS socket's traffic. The TLS server does not allow half-open
 * connections, so that a client's FIN during the handshake closes the connection at once (with
 * half-open on, it waited for --handshake-timeout); once secure, the connection is half-open like
 * every echo connection (the client's FIN ends our side only after its last echo).
 */
export function admitted(socket: Socket): boolean {
  socket.allowHalfOpen = true;
  return true;
}

/**
 * ws turns a socket's timeout off when it takes the socket over: turn --idle-timeout back on (the
 * close-on-idle listener admit() added is still there).
 */
export function rearmIdle(socket: Socket): void {
  if (idleMs > 0) socket.setTimeout(idleMs);
}

/** Connections this worker has served since it started. */
export function servedConnections(): number {
  return served;
}

/** Connections closed at once because the loop held --max-connections already. */
export function refusedConnections(): number {
  return refused;
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
