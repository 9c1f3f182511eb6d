/**
 * The raw libuv handles the handoff primary works with. node:net exposes them as the `_handle`
 * of a Server or Socket and child_process sends them as-is ("net.Native"); node:cluster's
 * round-robin scheduler uses them the same way. Typed here, once, as far as we use them.
 */
import type { ChildProcess } from "node:child_process";
import type { ConnMessage, Service, ToWorker } from "../../messages.ts";

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

/**
 * The handoff primary's one way to write to a worker: a message of the contract and the handle
 * it carries (a connection for `conn`, a listener copy for `accept` and `dup`). child_process
 * types the handle as a Socket or Server but sends raw handles as they are: hence the one cast.
 */
export function sendHandle(
  child: ChildProcess,
  message: ToWorker,
  handle: RawHandle,
  done?: (err: Error | null) => void,
): void {
  child.send(message, handle as never, undefined, done);
}

/** One message object per service, sent with every connection (serialized, never mutated). */
export const CONN: Readonly<Record<Service, ConnMessage>> = {
  echo: { t: "conn", s: "echo" },
  http: { t: "conn", s: "http" },
};
