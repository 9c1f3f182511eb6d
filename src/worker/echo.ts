/**
 * The RFC 862 echo loop: every byte received goes back, in order, unchanged. Every mode serves
 * its connections through echo(), so comparisons between modes measure only how connections
 * reach it.
 *
 * Hot path: the listeners are shared module functions (no closure per connection), each chunk is
 * written back as the very Buffer that was read (no copy), and nothing else happens per chunk.
 */
import type { Socket } from "node:net";

/** Open connections of this worker (a process or a thread: module state is per isolate). */
const live = new Set<Socket>();
let served = 0;

export function openConnections(): number {
  return live.size;
}

/** Connections this worker has served since it started. */
export function servedConnections(): number {
  return served;
}

function onData(this: Socket, chunk: Buffer): void {
  // Backpressure: stop reading while the peer has not taken what we owe it, so a client that
  // writes and never reads costs at most one read's worth of buffer.
  if (!this.write(chunk)) this.pause();
}
function onDrain(this: Socket): void {
  this.resume();
}
function onEnd(this: Socket): void {
  // Half-close: the client is done writing; what it sent is queued ahead of our FIN.
  this.end();
}
function onError(): void {
  // ECONNRESET, EPIPE, ...: the socket is destroyed by Node; nothing else is touched.
}
function onClose(this: Socket): void {
  live.delete(this);
}

/** Serve one connection. The socket must allow half-open (allowHalfOpen: true). */
export function echo(socket: Socket): void {
  served++;
  live.add(socket);
  socket.setNoDelay(true);
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("end", onEnd);
  socket.on("error", onError);
  socket.on("close", onClose);
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
