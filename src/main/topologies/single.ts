/**
 * single: one process, one event loop: the baseline every other mode is compared with. It runs
 * the worker's own services in the primary's process — the one place where src/main uses
 * src/worker code directly, so that the baseline is exactly the code the workers run.
 */

import { LINES } from "../../log.ts";
import { createServices } from "../../worker/loop/services.ts";
import { configPorts, serveOptions } from "../supervision/workers.ts";
import type { StartTopology } from "../topology.ts";

export const startSingle: StartTopology = async (config, log) => {
  const services = createServices(serveOptions(config), 0, log.child({ worker: 0 }));
  const ports = await services.listen(config.host, configPorts(config), {
    tcp: true,
    reusePort: false,
    udpReusePort: false,
  });
  return {
    ports,
    workers: () => ({ ready: 1, of: 1 }),
    metrics: () => ({ workers: new Map([[0, services.stats()]]), restarts: 0 }),
    setFaults: (faults) => services.setFaults(faults === "off" ? null : faults),
    async stop(ms) {
      await services.drain(ms);
      log.info({ worker: 0, ...services.summary() }, LINES.workerStopped);
    },
  };
};
