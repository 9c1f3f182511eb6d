/**
 * A worker: takes connections (from the primary's handoff or from its own listener), serves them
 * with the echo loop, reports its load, and drains when told. The same code runs in a child
 * process (main.ts) and in a worker thread (thread.ts); only the channel differs.
 */
import { Socket } from "node:net";
import { EchoplexError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { FromWorker, Ports, Service, ToWorker, WorkerOptions } from "../messages.ts";
import { openConnections } from "./connections.ts";
import { createServices, type Services } from "./services.ts";
import { type Spill, spill } from "./spill.ts";

export interface Channel {
  send(message: FromWorker, handle?: object, done?: () => void): void;
  onMessage(listener: (message: ToWorker, handle: object | undefined) => void): void;
  /** The primary is gone: the channel closed. */
  onClose(listener: () => void): void;
}

/** How often a worker sends its counters for /metrics. */
const STATS_INTERVAL_MS = 1_000;

export async function runWorker(options: WorkerOptions, channel: Channel): Promise<void> {
  const log = createLogger(options.logLevel, { worker: options.id });
  let services: Services;
  try {
    services = createServices(options.serve, options.id, log);
  } catch (err) {
    fail(channel, err);
    return;
  }
  /** Spill grants being used, per service (one listener each). */
  const spilling = new Map<Service, Spill>();
  let received = 0;
  let draining = false;
  /** What the primary last heard, from any message that carries the counts. */
  const reported = { open: -1, received: -1 };
  const counts = () => {
    reported.open = openConnections();
    reported.received = received;
    return { open: reported.open, received };
  };
  const reportLoad = (): void => channel.send({ t: "load", ...counts() });
  const reportSpilled = (s: Service, accepted: number, full: boolean): void =>
    channel.send({ t: "spilled", s, accepted, full, ...counts() });

  const drain = async (ms: number): Promise<void> => {
    if (draining) return;
    draining = true;
    channel.send({ t: "draining" });
    clearInterval(loadTimer);
    clearInterval(statsTimer);
    for (const grant of spilling.values()) grant.stop();
    log.debug({ open: openConnections() }, "draining");
    await services.drain(ms);
    log.info(services.summary(), "worker stopped");
    process.exit(0);
  };

  channel.onMessage((message, handle) => {
    switch (message.t) {
      case "conn": {
        received++;
        // The raw TCP handle the primary accepted; net.Socket's `handle` option is how
        // child_process itself wraps a received socket.
        const socket = new Socket({
          handle,
          readable: true,
          writable: true,
          allowHalfOpen: true,
        } as object);
        // Even while draining: it was accepted, so it is served until the drain deadline.
        services.accept(message.s, socket);
        return;
      }
      case "accept": {
        const service = message.s;
        if (handle === undefined || draining) {
          reportSpilled(service, 0, false);
          return;
        }
        const serve = (socket: Socket) => services.accept(service, socket);
        const { maxOpen, ms } = message;
        const grant = spill(handle, maxOpen, ms, options.serve.backlog, serve, (accepted, full) => {
          spilling.delete(service);
          log.trace({ service, accepted, full }, "spill grant over");
          reportSpilled(service, accepted, full);
        });
        spilling.set(service, grant);
        return;
      }
      case "dup":
        // Hand the listening handle straight back; our copy closes once it is on its way.
        if (handle !== undefined) {
          channel.send({ t: "dup", s: message.s }, handle, () => closeHandle(handle));
        }
        return;
      case "drain":
        void drain(message.ms);
        return;
    }
  });
  channel.onClose(() => void drain(options.drainMs));

  // Report the open-connection count when it changed: least-connections balancing reads it
  // without an IPC message per connection.
  const loadTimer = setInterval(() => {
    if (openConnections() !== reported.open || received !== reported.received) reportLoad();
  }, options.loadIntervalMs);
  loadTimer.unref();
  const statsTimer = setInterval(
    () => channel.send({ t: "stats", stats: services.stats() }),
    STATS_INTERVAL_MS,
  );
  statsTimer.unref();

  let ports: Ports;
  try {
    ports = await services.listen(options.host, options.ports, {
      tcp: options.role !== "handoff",
      reusePort: options.role === "reuseport",
      // A datagram socket is never handed off: every worker binds its own.
      udpReusePort: true,
    });
  } catch (err) {
    fail(channel, err);
    return;
  }
  log.debug({ role: options.role, ports }, "worker ready");
  channel.send({ t: "ready", id: options.id, ports });
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
