/**
 * A worker: takes connections (from the primary's handoff or from its own listener), serves them
 * with the echo loop, reports its load, and drains when told. The same code runs in a child
 * process (process-entry.ts) and in a worker thread (thread-entry.ts); only the channel differs.
 */
import { Socket } from "node:net";
import { EchoplexError } from "../../errors.ts";
import { LINES, type Logger, lazyLogger } from "../../log.ts";
import type {
  AcceptMessage,
  FromWorker,
  Service,
  ToWorker,
  WorkerOptions,
} from "../../messages.ts";
import { createServices, type Services } from "../loop/services.ts";
import { type LentListener, lentListener } from "./lent-listener.ts";

export interface Channel {
  send(message: FromWorker, handle?: object, done?: () => void): void;
  onMessage(listener: (message: ToWorker, handle: object | undefined) => void): void;
  /** The primary is gone: the channel closed. */
  onClose(listener: () => void): void;
}

/** How often a worker sends its counters for /metrics. */
const STATS_INTERVAL_MS = 1_000;

export async function runWorker(options: WorkerOptions, channel: Channel): Promise<void> {
  const log = lazyLogger(options.logLevel, { worker: options.id });
  let services: Services;
  try {
    services = createServices(options.serve, options.id, log);
  } catch (err) {
    fail(channel, err);
    return;
  }
  const worker = new WorkerLoop(options, channel, services, log);
  channel.onMessage((message, handle) => worker.message(message, handle));
  channel.onClose(() => void worker.drain(options.drainMs));
  try {
    const ports = await services.listen(options.host, options.ports, {
      tcp: options.role !== "handoff",
      reusePort: options.role === "reuseport",
      // A datagram socket is never handed off: every worker binds its own.
      udpReusePort: true,
    });
    log.debug({ role: options.role, ports }, "worker ready");
    channel.send({ t: "ready", ports });
  } catch (err) {
    fail(channel, err);
  }
}

/** A running worker: its messages from the primary, its reports, its drain. */
class WorkerLoop {
  readonly #options: WorkerOptions;
  readonly #channel: Channel;
  readonly #services: Services;
  readonly #log: Logger;
  /** Spill grants being used, per service (one listener each). */
  readonly #spilling = new Map<Service, LentListener>();
  #received = 0;
  #draining = false;
  /** What the primary last heard, from any message that carries the counts. */
  readonly #reported = { open: -1, received: -1 };
  readonly #loadTimer: NodeJS.Timeout;
  readonly #statsTimer: NodeJS.Timeout;

  constructor(options: WorkerOptions, channel: Channel, services: Services, log: Logger) {
    this.#options = options;
    this.#channel = channel;
    this.#services = services;
    this.#log = log;
    // Report the open-connection count when it changed: least-connections balancing reads it
    // without an IPC message per connection.
    this.#loadTimer = setInterval(() => {
      const r = this.#reported;
      if (this.#services.open() !== r.open || this.#received !== r.received) {
        channel.send({ t: "load", ...this.#counts() });
      }
    }, options.loadIntervalMs);
    this.#loadTimer.unref();
    this.#statsTimer = setInterval(
      () => channel.send({ t: "stats", stats: services.stats() }),
      STATS_INTERVAL_MS,
    );
    this.#statsTimer.unref();
  }

  #counts(): { open: number; received: number } {
    this.#reported.open = this.#services.open();
    this.#reported.received = this.#received;
    return { open: this.#reported.open, received: this.#received };
  }

  message(message: ToWorker, handle: object | undefined): void {
    switch (message.t) {
      case "conn":
        this.#received++;
        // Even while draining: it was accepted, so it is served until the drain deadline.
        this.#services.accept(message.s, wrap(handle));
        return;
      case "accept":
        this.#spill(message, handle);
        return;
      case "dup":
        // Hand the listening handle straight back; our copy closes once it is on its way.
        if (handle !== undefined) {
          this.#channel.send({ t: "dup", s: message.s }, handle, () => closeHandle(handle));
        }
        return;
      case "drain":
        void this.drain(message.ms);
        return;
      case "faults":
        this.#services.setFaults(message.faults === "off" ? null : message.faults);
        return;
    }
  }

  #spill(grant: AcceptMessage, handle: object | undefined): void {
    const service = grant.s;
    const over = (accepted: number, full: boolean) =>
      this.#channel.send({ t: "spilled", s: service, accepted, full, ...this.#counts() });
    if (handle === undefined || this.#draining) {
      over(0, false);
      return;
    }
    const services = this.#services;
    const loop = {
      serve: (socket: Socket) => services.accept(service, socket),
      open: () => services.open(),
      whenOpenBelow: (limit: number, then: () => void) => services.whenOpenBelow(limit, then),
      acceptError: () => services.acceptError(),
    };
    const { backlog } = this.#options.serve;
    // A new grant replaces the last one, which may still be watching for room; what the last
    // one would report now no longer answers anything the primary sent.
    const previous = this.#spilling.get(service);
    this.#spilling.delete(service);
    previous?.stop();
    const lent: LentListener = lentListener(handle, { ...grant, backlog }, loop, {
      busy: (accepted) =>
        this.#channel.send({ t: "spilling", s: service, accepted, ...this.#counts() }),
      over: (accepted, full) => {
        if (this.#spilling.get(service) !== lent) return;
        this.#log.trace({ service, accepted, full }, "spill grant over");
        over(accepted, full);
      },
      room: () => {
        if (!this.#draining) this.#channel.send({ t: "load", ...this.#counts() });
      },
    });
    this.#spilling.set(service, lent);
  }

  async drain(ms: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#channel.send({ t: "draining" });
    clearInterval(this.#loadTimer);
    clearInterval(this.#statsTimer);
    for (const grant of this.#spilling.values()) grant.stop();
    this.#log.debug({ open: this.#services.open() }, "draining");
    await this.#services.drain(ms);
    this.#log.info(this.#services.summary(), LINES.workerStopped);
    process.exit(0);
  }
}

/**
 * The raw TCP handle the primary accepted; net.Socket's `handle` option is how child_process
 * itself wraps a received socket.
 */
function wrap(handle: object | undefined): Socket {
  return new Socket({ handle, readable: true, writable: true, allowHalfOpen: true } as object);
}

/** Tell the primary why this worker cannot start, then exit. */
function fail(channel: Channel, err: unknown): void {
  const code = err instanceof EchoplexError ? err.code : "ECHOPLEX_WORKER_FAILED";
  channel.send({ t: "failed", code, message: (err as Error).message }, undefined, () =>
    process.exit(1),
  );
}

function closeHandle(handle: object): void {
  (handle as { close(): void }).close();
}
