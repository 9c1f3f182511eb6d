/**
 * The RFC 862 echo loop: every byte received goes back, in order, unchanged. Every mode serves
 * its connections through the handler echoHandler() returns, so comparisons between modes
 * measure only how connections reach it.
 *
 * Hot path: a plain connection reads into the loop's one buffer (loop/user-reads.ts: no Buffer,
 * stream push or 'data' event a read) and writes back a copy of each read; with work or faults,
 * each chunk is written back as the very Buffer that was read. The listeners are shared
 * functions, made once per handler (the read callback is one closure a connection); nothing
 * else happens per chunk.
 */
import type { Socket } from "node:net";
import type { Tally } from "../loop/tally.ts";
import { userReads } from "../loop/user-reads.ts";
import type { Work } from "../work/work.ts";
import type { FaultyEcho } from "./faulty.ts";

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
/** Admits a connection, or closes it and says no (connections.ts). */
export type Admit = (socket: Socket) => boolean;

/** What one handler's connections share: how they are admitted, and what counts their errors. */
interface Admission {
  readonly take: Admit;
  readonly onError: () => void;
}

function serve(
  socket: Socket,
  s: Admission,
  onChunk: (this: Socket, chunk: Buffer) => void,
  onFin: (this: Socket) => void = onEnd,
): boolean {
  if (!s.take(socket)) return false;
  socket.setNoDelay(true);
  socket.on("data", onChunk);
  socket.on("drain", onDrain);
  socket.on("end", onFin);
  socket.on("error", s.onError);
  return true;
}

/**
 * A plain echo connection also reads into the loop's buffer, and a copy of each read goes back
 * (the buffer is the next read's). 'data' still brings what a front read and put back (a PROXY
 * header's gate), and every read where the socket cannot read into the buffer.
 */
function serveReused(socket: Socket, s: Admission, buffer: Buffer): void {
  if (!serve(socket, s, onData)) return;
  userReads(socket, buffer, (bytes, read) => {
    if (!socket.write(Buffer.copyBytesFrom(read, 0, bytes))) socket.pause();
    return true;
  });
}

/** The chunk whose digest is being computed on the pool (offloaded work only). */
const PENDING = Symbol("echoplex.pending");
interface Offloaded extends Socket {
  [PENDING]?: Promise<void> | undefined;
}

/**
 * The connection handler (sockets must allow half-open) for an echo loop that does `work` per
 * chunk first (or none). `take` admits a connection (connections.ts): TLS connections were
 * admitted as raw sockets already.
 */
export function echoHandler(
  work: Work | null,
  take: Admit,
  tally: Tally,
  faulty: FaultyEcho | null = null,
): (socket: Socket) => void {
  const s: Admission = {
    take,
    // ECONNRESET, EPIPE, ...: the socket is destroyed by Node; nothing else is touched.
    onError: () => {
      tally.errors.connection++;
    },
  };
  if (faulty !== null) {
    // --tcp-faults (faulty.ts); with work on each chunk only where it is not offloaded (config).
    return (socket) => {
      if (take(socket)) faulty.serve(socket, s.onError);
    };
  }
  if (work === null) {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    return (socket) => serveReused(socket, s, buffer);
  }
  // One data listener per handler, shared by its connections (no closure per connection).
  if (!work.offloaded) {
    const onChunk = function (this: Socket, chunk: Buffer): void {
      work.digest(chunk);
      onData.call(this, chunk);
    };
    return (socket) => serve(socket, s, onChunk);
  }
  // One chunk in flight per connection: reading pauses until its digest is back, so chunks go
  // back in order and a fast sender has at most one chunk waiting here.
  const onChunk = function (this: Offloaded, chunk: Buffer): void {
    this.pause();
    this[PENDING] = (work.digest(chunk) as Promise<string>).then(
      () => {
        this[PENDING] = undefined;
        if (!this.destroyed && this.write(chunk)) this.resume();
      },
      () => {
        this.destroy();
      },
    );
  };
  // The client's FIN can arrive while the last chunk is still on the pool: end after it.
  const onFin = function (this: Offloaded): void {
    const pending = this[PENDING];
    if (pending === undefined) this.end();
    else void pending.then(() => this.end());
  };
  return (socket) => serve(socket, s, onChunk, onFin);
}
