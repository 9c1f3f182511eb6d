/**
 * One service's listening socket (TCP echo or HTTP) in the handoff primary: it accepts, backs
 * off when out of descriptors, keeps the spare copy that spill lends out, and runs that
 * service's spill. The dispatcher owns the workers' lanes and the queue; this owns the socket.
 */
import type { Logger } from "../../log.ts";
import type { Service } from "../../messages.ts";
import type { AcceptBackoff } from "./accept-backoff.ts";
import { type RawHandle, sendHandle, type TcpHandle } from "./handles.ts";
import { type Lane, type ListenerCopy, occupy } from "./lane.ts";
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
  readonly #lanes: readonly Lane[];
  readonly #accept: AcceptBackoff;
  #stopped = false;

  constructor(
    service: Service,
    handle: TcpHandle,
    o: ServiceListenerOptions,
    shared: {
      readonly lanes: readonly Lane[];
      readonly accept: AcceptBackoff;
      readonly log: Logger;
    },
    onConnection: (handle: RawHandle) => void,
  ) {
    this.service = service;
    this.#lanes = shared.lanes;
    this.#accept = shared.accept;
    this.#listener = new Listener(handle, o.backlog, (status, conn) => {
      if (status < 0 || conn === undefined) this.#acceptFailed(status);
      else {
        this.#accept.accepted();
        onConnection(conn);
      }
    });
    this.#spill = o.spill
      ? new Spill(service, shared.lanes, this.#listener, shared.log, () => this.askForSpare())
      : null;
  }

  /** The queue is backed up (`queued` connections): let the workers accept directly. */
  backedUp(queued: number): void {
    this.#spill?.start(queued);
  }

  /** Have a worker make the spare copy of the listener that spill lends out. */
  askForSpare(): void {
    if (this.#spill === null || this.#stopped) return;
    const lane = this.#lanes.find((l) => l.ready && !l.paused);
    if (lane?.child === undefined) return;
    const listener = this.#listener.requestSpare(lane.id);
    if (listener === null) return;
    occupy(lane, { lent: "dup", service: this.service });
    sendHandle(lane.child, { t: "dup", s: this.service }, listener);
  }

  /** A worker sent the spare copy back (undefined: it could not). */
  spareArrived(handle: TcpHandle | undefined): void {
    this.#listener.spareArrived(handle);
  }

  /** A worker out of descriptors refused a copy of this listener: it stays here. */
  refused(lane: Lane, copy: ListenerCopy): void {
    if (copy.lent === "dup") {
      this.#listener.spareArrived(undefined);
      this.askForSpare();
    } else {
      this.#spill?.returned(lane, 0, false);
    }
  }

  /** A worker is gone: its spare request, if any, goes to another; its grant is over. */
  laneGone(lane: Lane): void {
    if (this.#listener.workerGone(lane.id)) this.askForSpare();
    this.#spill?.laneGone(lane);
  }

  /** A worker reported its load (it may have room again after a full grant). */
  reported(lane: Lane): void {
    this.#spill?.reported(lane);
  }

  /** A worker's grant goes on after a busy window. */
  spilling(lane: Lane): void {
    this.#spill?.busy(lane);
  }

  /** A worker's grant is over. */
  spilled(lane: Lane, accepted: number, full: boolean): void {
    this.#spill?.returned(lane, accepted, full);
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
