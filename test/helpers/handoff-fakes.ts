/** Stand-ins for what the handoff primary drives: raw libuv handles and worker processes. */
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import type { TcpHandle } from "../../src/main/handoff/handles.ts";
import type { ToWorker } from "../../src/messages.ts";

export class FakeHandle implements TcpHandle {
  onconnection: TcpHandle["onconnection"] = null;
  closed = false;
  polling = false;
  backlog = 0;
  close(): void {
    this.closed = true;
    this.polling = false;
  }
  listen(backlog: number): number {
    this.polling = true;
    this.backlog = backlog;
    return 0;
  }
}

/**
 * A worker process as the dispatcher sees it: what it was sent (with the handles), and
 * child_process's internal answers and events, made by hand.
 */
export class FakeChild extends EventEmitter {
  connected = true;
  readonly sent: { message: ToWorker; handle: unknown }[] = [];

  send(message: ToWorker, handle?: unknown): boolean {
    this.sent.push({ message, handle });
    return true;
  }
  ack(): void {
    this.emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
  }
  nack(): void {
    this.emit("internalMessage", { cmd: "NODE_HANDLE_NACK" });
  }
  /** The channel closes (after everything the worker wrote to it has been read). */
  disconnect(): void {
    this.connected = false;
    this.emit("disconnect");
  }
  get asChild(): ChildProcess {
    return this as unknown as ChildProcess;
  }
  /** Connection handles sent to it, in order. */
  get conns(): unknown[] {
    return this.sent.filter((s) => s.message.t === "conn").map((s) => s.handle);
  }
}
