/**
 * handoff: the primary listens and accepts on the TCP echo and HTTP ports; each connection's
 * handle goes to a worker process over IPC (see ../handoff/dispatcher.ts), tagged with its
 * service. The primary never reads a client byte (TLS included: workers do the handshake).
 * Datagrams cannot be handed off: each worker binds the UDP port itself with SO_REUSEPORT.
 */
import { createServer } from "node:net";
import { listen } from "../../listen.ts";
import { Dispatcher } from "../handoff/dispatcher.ts";
import { checkChannel, rawHandle } from "../handoff/internals.ts";
import { Supervisor } from "../supervision/supervisor.ts";
import {
  configPorts,
  forkWorker,
  startWorkers,
  supervisorOptions,
  workerOptions,
} from "../supervision/workers.ts";
import type { StartTopology } from "../topology.ts";

export const startHandoff: StartTopology = async (config, log, fatal) => {
  // net.Servers bind the sockets (with their clear errors); from then on the dispatcher takes
  // their raw handles' connections directly, so no net.Socket is ever built in the primary.
  const echoServer = createServer();
  const httpServer = config.http === null ? null : createServer();
  const { host, backlog } = config;
  const echo = await listen(echoServer, { host, port: config.port, backlog });
  const http =
    httpServer === null
      ? null
      : await listen(httpServer, { host, port: config.http ?? 0, backlog }, "--http");
  const dispatcher = new Dispatcher(
    { echo: rawHandle(echoServer), http: httpServer === null ? null : rawHandle(httpServer) },
    { policy: config.balance, spill: config.spill, backlog },
    log,
  );
  let ports = { ...configPorts(config), echo, http };
  const supervisor = new Supervisor(
    (id) => {
      const child = forkWorker(workerOptions(config, id, "handoff", ports));
      try {
        checkChannel(child);
      } catch (err) {
        child.kill("SIGKILL");
        throw err;
      }
      return child;
    },
    log,
    {
      ready: (slot) => dispatcher.attach(slot.id, slot.child),
      exit: (slot) => dispatcher.detach(slot.child),
      message: (slot, message, handle) => dispatcher.message(slot.child, message, handle),
      ...supervisorOptions(config, fatal),
    },
  );
  // The first worker binds the UDP port asked for (0 picks one); the others bind the same.
  await startWorkers(
    supervisor,
    config.workers,
    (first) => {
      ports = { ...ports, udp: first.udp };
    },
    () => dispatcher.stop(),
  );
  return {
    ports,
    workers: () => {
      const outOfDescriptors = dispatcher.outOfDescriptors;
      const ready = Math.max(0, supervisor.readyCount() - outOfDescriptors);
      return { ready, of: config.workers, ...(outOfDescriptors > 0 ? { outOfDescriptors } : {}) };
    },
    restart: (ms) => supervisor.restart(ms),
    setFaults: (faults) => supervisor.setFaults(faults),
    metrics: () => ({
      ...supervisor.metrics(),
      queued: dispatcher.queued,
      acceptErrors: dispatcher.acceptErrors,
      handoffsRefused: dispatcher.refused,
      handoffSeconds: dispatcher.handoffSeconds,
    }),
    async stop(ms) {
      await dispatcher.stop();
      await supervisor.stop(ms);
    },
  };
};
