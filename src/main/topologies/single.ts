/**
 * single: one process, one event loop: the baseline every other mode is compared with. It runs
 * the worker's own echo server in the primary's process — the one place where src/main uses
 * src/worker code directly, so that the baseline is exactly the code the workers run.
 */
import { listen } from "../../listen.ts";
import { drainConnections, servedConnections } from "../../worker/echo.ts";
import { createEchoServer } from "../../worker/server.ts";
import type { StartTopology } from "../topology.ts";

export const startSingle: StartTopology = async (config, log) => {
  const server = createEchoServer();
  const port = await listen(server, { host: config.host, port: config.port });
  return {
    port,
    async stop(ms) {
      server.close();
      await drainConnections(ms);
      log.info({ worker: 0, served: servedConnections() }, "worker stopped");
    },
  };
};
