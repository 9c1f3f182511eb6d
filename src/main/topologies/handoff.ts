/**
 * handoff: the primary listens and accepts; each connection's handle goes to a worker process
 * over IPC (see ../handoff/dispatcher.ts). The primary never reads a client byte.
 */
import { createServer } from "node:net";
import { listen } from "../../listen.ts";
import { Dispatcher } from "../handoff/dispatcher.ts";
import type { TcpHandle } from "../handoff/handles.ts";
import { Supervisor } from "../supervisor.ts";
import type { StartTopology } from "../topology.ts";
import { forkWorker, workerOptions } from "../workers.ts";

export const startHandoff: StartTopology = async (config, log) => {
  // A net.Server binds the socket (with its clear errors); from then on the dispatcher takes its
  // raw handle's connections directly, so no net.Socket is ever built in the primary.
  const server = createServer();
  const port = await listen(server, { host: config.host, port: config.port });
  const dispatcher = new Dispatcher(
    (server as unknown as { _handle: TcpHandle })._handle,
    config.balance,
    config.spill,
    log,
  );
  const supervisor = new Supervisor(
    (id) => forkWorker(workerOptions(config, id, "handoff", port)),
    log,
    {
      ready: (slot) => dispatcher.attach(slot.id, slot.child),
      exit: (slot) => dispatcher.detach(slot.id),
      message: (slot, message, handle) => dispatcher.message(slot.id, message, handle),
    },
  );
  try {
    await supervisor.start(config.workers);
  } catch (err) {
    await dispatcher.stop();
    await supervisor.stop(0);
    throw err;
  }
  return {
    port,
    async stop(ms) {
      await dispatcher.stop();
      await supervisor.stop(ms);
    },
  };
};
