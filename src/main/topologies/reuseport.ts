/**
 * reuseport: each worker process opens its own listener with SO_REUSEPORT; the kernel spreads
 * connections over them by a hash of the addresses. The first worker binds the asked port (0 picks
 * one) and the others bind the port it got.
 */
import { Supervisor } from "../supervisor.ts";
import type { StartTopology } from "../topology.ts";
import { forkWorker, workerOptions } from "../workers.ts";

export const startReuseport: StartTopology = async (config, log) => {
  let port = config.port;
  const supervisor = new Supervisor(
    (id) => forkWorker(workerOptions(config, id, "reuseport", port)),
    log,
  );
  try {
    const first = await supervisor.add(0);
    port = first.port;
    for (let id = 1; id < config.workers; id++) await supervisor.add(id);
  } catch (err) {
    await supervisor.stop(0);
    throw err;
  }
  return { port, stop: (ms) => supervisor.stop(ms) };
};
