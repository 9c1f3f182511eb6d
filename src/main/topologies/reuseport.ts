/**
 * reuseport: each worker process opens its own listeners with SO_REUSEPORT; the kernel spreads
 * connections (and datagrams) over them by a hash of the addresses. The first worker binds the
 * asked ports (0 picks one) and the others bind the ports it got.
 */
import { Supervisor } from "../supervisor.ts";
import type { StartTopology } from "../topology.ts";
import {
  boundPorts,
  configPorts,
  forkWorker,
  startWorkers,
  supervisorOptions,
  workerOptions,
} from "../workers.ts";

export const startReuseport: StartTopology = async (config, log, fatal) => {
  let ports = configPorts(config);
  const supervisor = new Supervisor(
    (id) => forkWorker(workerOptions(config, id, "reuseport", ports)),
    log,
    supervisorOptions(config, fatal),
  );
  await startWorkers(supervisor, config.workers, (first) => {
    ports = boundPorts(ports, first);
  });
  return {
    ports,
    workers: () => ({ ready: supervisor.readyCount(), of: config.workers }),
    restart: (ms) => supervisor.restart(ms),
    metrics: () => supervisor.metrics(),
    stop: (ms) => supervisor.stop(ms),
  };
};
