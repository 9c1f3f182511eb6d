/**
 * One service's listening socket (TCP echo or HTTP) in the handoff primary: it accepts, backs
 * off when out of descriptors, keeps the spare copy that spill lends out, and runs that
 * service's spill. The dispatcher owns the worker channels and the queue; this owns the socket.
 */
import type { Logger } from "../../log.ts";
import type { Service } from "../../messages.ts";
import type { AcceptBackoff } from "./accept-backoff.ts";
import type { ListenerCopy, WorkerChannel } from "./channel.ts";
import type { RawHandle, TcpHandle } from "./handles.ts";
import { Listener } from "./listener.ts";
import { Spill } from "./spill.ts";

export interface ServiceListenerOptions {
  readonly backlog: number;
  /** Lend the listener to the workers while the queue is backed up. */
  readonly spill: boolean;
}

export class ServiceListener {
  readonly service: Service;
  readonly #listener: Listener;
  readonly #spill: Spill | null;
  readonly #channels: readonly WorkerChannel[];
  readonly #accept: AcceptBackoff;
  #stopped = false;

  constructor(
    service: Service,
    handle: TcpHandle,
    o: ServiceListenerOptions,
    shared: {
      readonly channels: readonly WorkerChannel[];
      readonly accept: AcceptBackoff;
      readonly log: Logger;
    },
    onConnection: (handle: RawHandle) => void,
  ) {
    this.service = service;
    this.#channels = shared.channels;
    this.#accept = shared.accept;
    this.#listener = new Listener(handle, o.backlog, (status, conn) => {
      if (status < 0 || conn === undefined) this.#acceptFailed(status);
      else {
        this.#accept.accepted();
        onConnection(conn);
      }
    });
    this.#spill = o.spill
      ? new Spill(service, shared.channels, this.#listener, shared.log, () => this.askForSpare())
      : null;
  }

  /** The queue is backed up (`queued` connections): let the workers accept directly. */
  backedUp(queued: number): void {
    this.#spill?.start(queued);
  }

  /** Have a worker make the spare copy of the listener that spill lends out. */
  askForSpare(): void {
    if (this.#spill === null || this.#stopped) return;
    const channel = this.#channels.find((c) => c.eligible);
    if (channel === undefined) return;
    const listener = this.#listener.requestSpare(channel.index);
    if (listener === null) return;
    channel.send({ lent: "spare", service: this.service }, { t: "dup", s: this.service }, listener);
  }

  /** A worker sent the spare copy back (undefined: it could not). */
  spareArrived(handle: TcpHandle | undefined): void {
    this.#listener.spareArrived(handle);
  }

  /** A worker out of descriptors refused a copy of this listener: it stays here. */
  refused(channel: WorkerChannel, copy: ListenerCopy): void {
    if (copy.lent === "spare") {
      this.#listener.spareArrived(undefined);
      this.askForSpare();
    } else {
      this.#spill?.returned(channel, 0, false);
    }
  }

  /** A worker is gone: its spare request, if any, goes to another; its grant is over. */
  channelGone(channel: WorkerChannel): void {
    if (this.#listener.workerGone(channel.index)) this.askForSpare();
    this.#spill?.channelGone();
  }

  /** A worker reported its load (it may have room again after a full grant). */
  reported(channel: WorkerChannel): void {
    this.#spill?.reported(channel);
  }

  /** A worker's grant goes on after a busy window. */
  spilling(channel: WorkerChannel): void {
    this.#spill?.busy(channel);
  }

  /** A worker's grant is over. */
  spilled(channel: WorkerChannel, accepted: number, full: boolean): void {
    this.#spill?.returned(channel, accepted, full);
  }

  stop(): void {
    this.#stopped = true;
    this.#spill?.stop();
    this.#listener.close();
  }

  /** An accept error: counted; out of descriptors, accepting pauses (accept-backoff.ts). */
  #acceptFailed(status: number): void {
    const listener = this.#listener;
    const pausedMs = this.#accept.failed(
      status,
      this.service,
      () => !this.#stopped && listener.pause(),
    );
    if (pausedMs === 0) return;
    setTimeout(() => {
      if (this.#stopped) return;
      listener.resume();
      this.askForSpare();
    }, pausedMs);
  }
}
