/**
 * The handoff primary's listening socket, in two copies. libuv cannot stop polling a listening
 * handle, only close it; so to pause accepting (during a spill) the primary closes the copy it
 * polls and keeps a *spare*, unpolled copy, which keeps the socket open, is what it lends to
 * workers, and becomes the polled copy again on resume. A spare is made by a round trip: the
 * listener is sent to a worker, which sends it straight back.
 */
import type { RawHandle, TcpHandle } from "./handles.ts";

export class Listener {
  #polled: TcpHandle | null;
  #spare: TcpHandle | null = null;
  /** The worker asked for a spare, or -1. */
  #spareFrom = -1;
  #closed = false;
  readonly #onConnection: (status: number, handle: RawHandle | undefined) => void;
  readonly #backlog: number;

  constructor(
    handle: TcpHandle,
    backlog: number,
    onConnection: (status: number, handle: RawHandle | undefined) => void,
  ) {
    this.#backlog = backlog;
    this.#polled = handle;
    this.#onConnection = onConnection;
    handle.onconnection = onConnection;
  }

  /** The copy to lend to a worker for direct accept, or null while there is no spare. */
  get spare(): TcpHandle | null {
    return this.#spare;
  }

  /**
   * A copy to send to worker `id` so that it sends it back as the spare, or null when a spare is
   * there or already asked for.
   */
  requestSpare(id: number): TcpHandle | null {
    if (this.#closed || this.#spare !== null || this.#spareFrom >= 0 || this.#polled === null)
      return null;
    this.#spareFrom = id;
    return this.#polled;
  }

  spareArrived(handle: TcpHandle | undefined): void {
    this.#spareFrom = -1;
    if (handle === undefined) return;
    if (this.#closed || this.#spare !== null) handle.close();
    else this.#spare = handle;
  }

  /** Worker `id` is gone; true if it took a spare request with it (ask another worker). */
  workerGone(id: number): boolean {
    if (this.#spareFrom !== id) return false;
    this.#spareFrom = -1;
    return true;
  }

  /** Stop accepting, keeping the socket open through the spare. False if there is no spare. */
  pause(): boolean {
    if (this.#polled === null || this.#spare === null) return false;
    this.#polled.close();
    this.#polled = null;
    return true;
  }

  /** Accept again on the spare (the caller then asks for a new spare). Returns 0 or an errno. */
  resume(): number {
    const handle = this.#spare;
    if (this.#closed || this.#polled !== null || handle === null) return 0;
    this.#spare = null;
    handle.onconnection = this.#onConnection;
    this.#polled = handle;
    return handle.listen(this.#backlog);
  }

  close(): void {
    this.#closed = true;
    this.#polled?.close();
    this.#polled = null;
    this.#spare?.close();
    this.#spare = null;
  }
}
