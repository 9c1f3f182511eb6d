/**
 * Every connection one echo loop serves, whatever its protocol: the cap on open connections
 * (its share of --max-connections), the idle timeout (--idle-timeout), the open count
 * least-connections balancing reads, the served and refused counts, the bytes moved, and the
 * drain on shutdown. One instance per loop, owned by its services (services.ts).
 */
import type { Socket } from "node:net";
import type { Tally } from "./tally.ts";

export interface Limits {
  /** Most connections open at once in this loop (0: no limit). */
  readonly maxOpen: number;
  /** Milliseconds of silence before a connection is closed (0: never). */
  readonly idleMs: number;
}

interface Watch {
  readonly limit: number;
  readonly then: () => void;
}

export class Connections {
  readonly #live = new Set<Socket>();
  readonly #limits: Limits;
  #served = 0;
  #refused = 0;
  /** Bytes of connections that have closed (open ones are summed when asked). */
  #closedIn = 0;
  #closedOut = 0;
  /** The per-socket listeners: made once here, shared by every socket (no closure each). */
  readonly #untrack: (this: Socket) => void;
  readonly #onIdle: (this: Socket) => void;
  /** Each called once when the open count falls below its limit (spill grants at a ceiling). */
  readonly #watches = new Set<Watch>();

  constructor(limits: Limits, tally: Tally) {
    this.#limits = limits;
    const live = this.#live;
    const bytes = (socket: Socket) => {
      this.#closedIn += socket.bytesRead;
      this.#closedOut += socket.bytesWritten;
    };
    const watches = this.#watches;
    const fell = () => {
      if (watches.size === 0) return;
      for (const w of watches) {
        if (live.size >= w.limit) continue;
        watches.delete(w);
        w.then();
      }
    };
    this.#untrack = function (this: Socket) {
      live.delete(this);
      bytes(this);
      fell();
    };
    this.#onIdle = function (this: Socket) {
      tally.limits.idleTimeout++;
      this.destroy();
    };
  }

  /**
   * Admit a new connection: over the cap it is closed at once and counted as refused (false);
   * otherwise it is counted until it closes, and closed after the idle timeout of silence. A
   * socket admitted already (by the PROXY gate, before its header) is taken as it is.
   */
  readonly admit = (socket: Socket): boolean => {
    if (this.#live.has(socket)) return true;
    const { maxOpen, idleMs } = this.#limits;
    if (maxOpen > 0 && this.#live.size >= maxOpen) {
      this.#refused++;
      socket.destroy();
      return false;
    }
    this.#served++;
    this.#live.add(socket);
    socket.once("close", this.#untrack);
    if (idleMs > 0) socket.setTimeout(idleMs, this.#onIdle);
    return true;
  };

  /**
   * A TLS connection was admitted (and counted) as the raw socket it arrived on; its idle timer
   * runs there too, and sees the TLS socket's traffic. The TLS server does not allow half-open
   * connections, so that a client's FIN during the handshake closes the connection at once
   * (with half-open on, it waited for --handshake-timeout); once secure, the connection is
   * half-open like every echo connection (the client's FIN ends our side after its last echo).
   */
  readonly admitted = (socket: Socket): boolean => {
    socket.allowHalfOpen = true;
    return true;
  };

  /**
   * ws turns a socket's timeout off when it takes the socket over: turn the idle timeout back on
   * (the close-on-idle listener admit() added is still there).
   */
  rearmIdle(socket: Socket): void {
    if (this.#limits.idleMs > 0) socket.setTimeout(this.#limits.idleMs);
  }

  /** Connections open now. */
  get open(): number {
    return this.#live.size;
  }

  /** Call `then` once the open count is below `limit` (at once if it is); returns a cancel. */
  whenBelow(limit: number, then: () => void): () => void {
    if (this.#live.size < limit) {
      then();
      return () => {};
    }
    const watch = { limit, then };
    this.#watches.add(watch);
    return () => this.#watches.delete(watch);
  }

  /** Connections served since the loop started. */
  get served(): number {
    return this.#served;
  }

  /** Connections closed at once because the loop held its cap already. */
  get refused(): number {
    return this.#refused;
  }

  /** Bytes read from and written to clients since the loop started. */
  bytesMoved(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.#closedIn;
    let bytesOut = this.#closedOut;
    for (const socket of this.#live) {
      bytesIn += socket.bytesRead;
      bytesOut += socket.bytesWritten;
    }
    return { bytesIn, bytesOut };
  }

  /** Let open connections finish for up to `ms`, then destroy the rest; resolves when none is left. */
  drain(ms: number): Promise<void> {
    const live = this.#live;
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
}
