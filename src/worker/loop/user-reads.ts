/**
 * Reads into one reused buffer for a socket that was made without net.Socket's `onread` option
 * (sockets accepted by a net.Server, or wrapped from a handed-off handle, always are).
 *
 * A socket made with `onread: { buffer, callback }` has libuv read into that buffer and calls
 * the callback with the byte count: no ArrayBuffer, Buffer, stream push or 'data' event a read.
 * Under callgrind a minimal server answering each read took 6.2k user-space instructions a
 * request reading so, 12.7k reading 'data'. The option is only read by the constructor, which keeps it in
 * three symbol-keyed fields (kBuffer, kBufferCb, kBufferGen, null on every socket) that the
 * handle's read callback consults; this sets them, and has the handle read into the buffer, as
 * the constructor would have. None of that is public API: where this Node lacks it, `userReads`
 * says no and the caller reads with 'data' events as before.
 *
 * Once on, a socket stays on (the handle has no call to undo it): a reader that gives the socket
 * to code expecting 'data' has its callback push a copy of each read (`pushCopy`).
 */
import { Socket } from "node:net";

/** Return false to stop reading (the socket's pause()); resume() starts it again. */
export type OnRead = (bytes: number, buffer: Buffer) => boolean;

type Keys = { readonly buffer: symbol; readonly callback: symbol; readonly generator: symbol };

const keys = ((): Keys | null => {
  const byName = new Map(
    Object.getOwnPropertySymbols(new Socket()).map((s) => [s.description, s] as const),
  );
  const buffer = byName.get("kBuffer");
  const callback = byName.get("kBufferCb");
  const generator = byName.get("kBufferGen");
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  return { buffer, callback, generator };
})();

type Fields = Record<symbol, unknown> & {
  _handle?: { useUserBuffer?: (buffer: Buffer) => void } | null;
  encrypted?: boolean;
};

/**
 * Have `socket`'s reads go into `buffer` and to `onRead` from now on; false (nothing changed)
 * where this Node or this socket cannot (no handle, on already) or is not tried (TLS).
 */
export function userReads(socket: Socket, buffer: Buffer, onRead: OnRead): boolean {
  const fields = socket as unknown as Fields;
  const handle = fields._handle;
  if (keys === null || fields.encrypted === true) return false;
  if (typeof handle?.useUserBuffer !== "function") return false;
  if (fields[keys.buffer] !== null || fields[keys.generator] !== null) return false;
  fields[keys.buffer] = buffer;
  fields[keys.callback] = onRead;
  handle.useUserBuffer(buffer);
  return true;
}

/** For a socket handed on: the read as 'data' (a copy, the buffer is reused), as before. */
export function pushCopy(socket: Socket, bytes: number, buffer: Buffer): boolean {
  return socket.push(Buffer.copyBytesFrom(buffer, 0, bytes));
}
