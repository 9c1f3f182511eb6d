/**
 * The WebSocket echo's fast path (--http-fast-path): a read made only of whole, final, masked
 * text or binary frames of up to 4 KiB, each within --max-message (text: valid UTF-8), with no
 * fragmented message open, is echoed from the loop: each frame is unmasked and moved into its
 * echo in the read's own buffer, and the echoes go back in one write. Every other read (control
 * frames, fragments, a frame cut by the read, anything ws would refuse) goes to ws as it came,
 * and a frame cut by a read is followed through ws's reads until the next frame begins, where
 * the fast path may take over again. The answers are ws's own, byte for byte: the header ws's
 * Sender writes (the shortest length encoding, no mask) and the payload. Frames over 4 KiB are
 * ws's (frames.ts, FAST_FRAME_MAX, says why).
 */
import type { Socket } from "node:net";
import { WebSocket } from "ws";
import type { Faults } from "../loop/faults.ts";
import type { Tally } from "../loop/tally.ts";
import { echoFrames, headerLength, payloadLength, scan, unmaskText } from "./frames.ts";

/** Bytes queued to one client past which we stop reading from it until they are sent. */
export const HIGH_WATER = 1024 * 1024;

export interface WsFastOptions {
  readonly maxMessage: number;
  readonly faults: Faults;
  readonly tally: Tally;
}

type OnData = (this: Socket, chunk: Buffer) => void;

/**
 * Put the fast path between `socket` and ws, once ws has taken it (its 'data' listener is the
 * only one). Without that listener in place, ws keeps the socket to itself.
 */
export function takeFrames(ws: WebSocket, socket: Socket, o: WsFastOptions): void {
  const listeners = socket.listeners("data");
  if (listeners.length !== 1) return;
  const wsOnData = listeners[0] as OnData;
  const fast = new FastFrames(ws, socket, wsOnData, o);
  const onData = (chunk: Buffer): void => fast.read(chunk);
  // ws stops reading (after a protocol error, on close) by removing its listener: removing a
  // listener also removes one whose `listener` property is it (as for once()), so ours goes too.
  (onData as { listener?: OnData }).listener = wsOnData;
  socket.removeListener("data", wsOnData);
  socket.on("data", onData);
}

/** One connection's frames: what is echoed here, and where ws is in what it reads. */
export class FastFrames {
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #wsOnData: OnData;
  readonly #o: WsFastOptions;
  /** Payload bytes still to come of the frame ws is reading. */
  #skip = 0;
  /** ws holds a fragmented message that is not finished. */
  #fragmented = false;
  /** The start of a frame header cut by a read (at most 14 bytes), while ws reads it. */
  #head: Buffer | null = null;
  #headLength = 0;

  constructor(ws: WebSocket, socket: Socket, wsOnData: OnData, o: WsFastOptions) {
    this.#ws = ws;
    this.#socket = socket;
    this.#wsOnData = wsOnData;
    this.#o = o;
  }

  read(chunk: Buffer): void {
    try {
      if (this.#atFrame() && this.#ws.readyState === WebSocket.OPEN) {
        const frames = scan(chunk, this.#o.maxMessage);
        if (frames > 0 && unmaskText(chunk)) {
          this.#o.tally.messages.websocket += frames;
          this.#o.tally.fast.wsFast += frames;
          this.#send(chunk.subarray(0, echoFrames(chunk)));
          return;
        }
      }
      this.#follow(chunk);
    } catch (err) {
      this.#o.faults.caught(err, "websocket");
      this.#ws.close(1011, "internal error");
      return;
    }
    this.#wsOnData.call(this.#socket, chunk);
  }

  #atFrame(): boolean {
    return this.#skip === 0 && this.#headLength === 0 && !this.#fragmented;
  }

  #send(out: Buffer): void {
    const socket = this.#socket;
    if (socket.writableLength + out.length < HIGH_WATER) {
      socket.write(out);
      return;
    }
    // Backpressure, as for ws's own sends: a client that does not read costs at most HIGH_WATER.
    const ws = this.#ws;
    ws.pause();
    socket.write(out, () => ws.resume());
  }

  /** Track the frames of a read that ws parses, so as to know where the next one begins. */
  #follow(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      if (this.#headLength === 0 && headerLength(chunk, i, chunk.length) > 0) {
        i = this.#frame(chunk, i);
        continue;
      }
      this.#head ??= Buffer.allocUnsafe(14);
      while (i < chunk.length && headerLength(this.#head, 0, this.#headLength) < 0)
        this.#head[this.#headLength++] = chunk[i++] as number;
      if (headerLength(this.#head, 0, this.#headLength) < 0) return;
      this.#frame(this.#head, 0);
      this.#headLength = 0;
    }
  }

  /** A whole header at `at`: note what it opens and closes; returns where its payload begins. */
  #frame(b: Buffer, at: number): number {
    const opcode = (b[at] as number) & 0x0f;
    const fin = ((b[at] as number) & 0x80) !== 0;
    if ((opcode === 1 || opcode === 2) && !fin) this.#fragmented = true;
    else if (opcode === 0 && fin) this.#fragmented = false;
    this.#skip = payloadLength(b, at);
    return at + headerLength(b, at, b.length);
  }
}
