/**
 * The raw libuv handles the handoff primary works with. node:net exposes them as the `_handle`
 * of a Server or Socket and child_process sends them as-is ("net.Native"); node:cluster's
 * round-robin scheduler uses them the same way. Typed here, once, as far as we use them.
 */
import type { Service } from "../../messages.ts";

export interface RawHandle {
  close(): void;
}

/** An accepted connection waiting to be handed to a worker, and the service it is for. */
export interface Pending {
  readonly handle: RawHandle;
  readonly service: Service;
  /** When it was accepted (performance.now()), for echoplex_handoff_seconds. */
  readonly at: number;
}

export interface TcpHandle extends RawHandle {
  /** Called by libuv for every accepted connection: a negative status is an accept error. */
  onconnection: ((status: number, handle: RawHandle | undefined) => void) | null;
  /** Start listening and polling; returns 0 or a negative errno. */
  listen(backlog: number): number;
}
