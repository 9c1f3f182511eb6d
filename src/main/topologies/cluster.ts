/**
 * cluster and cluster-shared: node:cluster, the peer a user would pick instead of echoplex.
 * Workers call listen() and the cluster primary either accepts and sends them handles in round
 * robin (SCHED_RR, "cluster") or shares the listening socket so each worker accepts itself
 * (SCHED_NONE, "cluster-shared").
 */
import cluster from "node:cluster";
import { fileURLToPath } from "node:url";
import { fail } from "../../errors.ts";
import { Supervisor } from "../supervision/supervisor.ts";
import { WORKER_PROCESS_ENTRY } from "../supervision/worker-entry.ts";
import {
  configPorts,
  startWorkers,
  supervisorOptions,
  WORKER_STDIO,
  workerExecArgv,
  workerOptions,
} from "../supervision/workers.ts";
import type { StartTopology, Topology } from "../topology.ts";

/**
 * The policy node:cluster froze for this process: it reads it once, at the first fork, and
 * keeps it for ever, so a second server in the same process (start()) gets the first one's.
 */
let frozen: number | undefined;

function startCluster(policy: number): StartTopology {
  return async (config, log, fatal): Promise<Topology> => {
    if (frozen !== undefined && frozen !== policy)
      throw fail("ECHOPLEX_BAD_OPTION", {
        subject: `start({ mode: "${config.mode}" })`,
        problem: `node:cluster fixed this process's scheduling at its first fork (${frozen === cluster.SCHED_RR ? "round robin, mode cluster" : "shared, mode cluster-shared"}); one process runs only one of cluster and cluster-shared: use another process, or mode handoff or reuseport`,
      });
    frozen = policy;
    cluster.schedulingPolicy = policy;
    let ports = configPorts(config);
    const supervisor = new Supervisor(
      (id) => {
        cluster.setupPrimary({
          exec: fileURLToPath(WORKER_PROCESS_ENTRY),
          args: [JSON.stringify(workerOptions(config, id, "listen", ports))],
          stdio: WORKER_STDIO,
          execArgv: workerExecArgv(),
        });
        const worker = cluster.fork();
        // node:cluster re-emits its process's errors on the Worker, where no listener means a
        // throw: an IPC write to a worker that just died (EPIPE, while stopping after a failed
        // start) ended the primary. The supervisor logs them from the process itself.
        worker.on("error", () => {});
        return worker.process;
      },
      log,
      supervisorOptions(config, fatal),
    );
    // TCP: node:cluster keys its listening handles by the address asked for, so workers that
    // all ask for the same port (0 included) share one socket. UDP: each worker binds its own
    // SO_REUSEPORT socket, which must be on the port the first one got.
    const bound = await startWorkers(supervisor, config.workers, (first) => {
      ports = { ...ports, udp: first.udp };
    });
    return {
      ports: bound,
      workers: () => ({ ready: supervisor.readyCount(), of: config.workers }),
      restart: (ms) => supervisor.restart(ms),
      setFaults: (faults) => supervisor.setFaults(faults),
      metrics: () => supervisor.metrics(),
      stop: (ms) => supervisor.stop(ms),
    };
  };
}

export const startClusterRoundRobin = startCluster(cluster.SCHED_RR);
export const startClusterShared = startCluster(cluster.SCHED_NONE);
