/**
 * reuseport and threads: each worker (a process, or a thread in this process) opens its own
 * listeners with SO_REUSEPORT; the kernel spreads connections (and datagrams) over them by a
 * hash of the addresses. A thread cannot receive a socket handle, so this is the only way
 * threads share a port. The first worker binds the asked ports (0 picks one) and the others
 * bind the ports it got. The same supervisor keeps both (../thread-child.ts adapts a thread).
 */
import type { WorkerOptions } from "../../messages.ts";
import { type Supervised, Supervisor } from "../supervision/supervisor.ts";
import { ThreadChild } from "../supervision/thread-child.ts";
import {
  boundPorts,
  configPorts,
  forkWorker,
  startWorkers,
  supervisorOptions,
  workerOptions,
} from "../supervision/workers.ts";
import type { StartTopology } from "../topology.ts";

function reuseportTopology(spawn: (options: WorkerOptions) => Supervised): StartTopology {
  return async (config, log, fatal) => {
    let ports = configPorts(config);
    const supervisor = new Supervisor(
      (id) => spawn(workerOptions(config, id, "reuseport", ports)),
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
      setFaults: (faults) => supervisor.setFaults(faults),
      metrics: () => supervisor.metrics(),
      stop: (ms) => supervisor.stop(ms),
    };
  };
}

export const startReuseport = reuseportTopology(forkWorker);
export const startThreads = reuseportTopology((options) => new ThreadChild(options));
