/**
 * threads: worker threads in one process, each with its own event loop and its own reusePort
 * listener. A thread cannot receive a socket handle, so the kernel spreads connections. The
 * same supervisor as for processes keeps them (../thread-child.ts adapts a thread).
 */
import { Supervisor } from "../supervisor.ts";
import { ThreadChild } from "../thread-child.ts";
import type { StartTopology } from "../topology.ts";
import {
  boundPorts,
  configPorts,
  startWorkers,
  supervisorOptions,
  workerOptions,
} from "../workers.ts";

export const startThreads: StartTopology = async (config, log, fatal) => {
  let ports = configPorts(config);
  const supervisor = new Supervisor(
    (id) => new ThreadChild(workerOptions(config, id, "reuseport", ports)),
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
