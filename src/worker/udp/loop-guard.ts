/**
 * Breaks UDP echo loops. A datagram from another echo service on a port >= 1024 (which the
 * reflection rule lets through) comes back as the reply we just sent it, and the two services
 * would ping-pong it for ever. So a datagram byte-identical to the last reply sent to the same
 * address and port, within WINDOW_MS of it, is not answered. The price: a client that sends back,
 * within that window, exactly the bytes it just got from us is not answered either (vary a byte,
 * as any counter or timestamp does). Remembered per destination: length, CRC-32 and time; at
 * most MAX_PEERS destinations (bounded-map.ts).
 */
import { crc32 } from "node:zlib";
import { BoundedMap } from "../loop/bounded-map.ts";

export const WINDOW_MS = 1_000;
const MAX_PEERS = 65_536;

interface LastReply {
  length: number;
  crc: number;
  at: number;
}

export class LoopGuard {
  readonly #last: BoundedMap<LastReply>;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now(), maxPeers = MAX_PEERS) {
    this.#now = now;
    this.#last = new BoundedMap(maxPeers);
  }

  get peers(): number {
    return this.#last.size;
  }

  /**
   * Is `data` from `peer` the reply we just sent there (a loop)? If not, it is about to be
   * answered with the same bytes: remember that reply.
   */
  looped(peer: string, data: Uint8Array): boolean {
    const now = this.#now();
    const crc = crc32(data);
    const last = this.#last.get(peer);
    if (last !== undefined) {
      const loop = now - last.at < WINDOW_MS && last.length === data.length && last.crc === crc;
      if (loop) return true;
      last.length = data.length;
      last.crc = crc;
      last.at = now;
      return false;
    }
    this.#last.add(peer, { length: data.length, crc, at: now });
    return false;
  }
}
