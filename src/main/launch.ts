/**
 * A server up: the topology of its mode, then its admin port (health, readiness, metrics). What
 * the command (lifecycle.ts, with signals and log lines) and the library (start.ts) both run.
 */
import type { Logger } from "../log.ts";
import { type Admin, type AdminStatus, notReady, startAdmin } from "./admin.ts";
import { AdminControl } from "./admin-control.ts";
import type { Config } from "./config/config.ts";
import { createMetrics } from "./metrics.ts";
import { TOPOLOGIES } from "./topologies/index.ts";
import type { Topology } from "./topology.ts";

export interface Running {
  readonly topology: Topology;
  readonly admin: Admin | undefined;
}

export async function launch(
  config: Config,
  log: Logger,
  fatal: (err: Error) => void,
  status: (topology: Topology) => AdminStatus,
): Promise<Running> {
  const topology = await TOPOLOGIES[config.mode](config, log, fatal);
  const { admin, adminHost } = config;
  if (admin === null) return { topology, admin: undefined };
  const control = new AdminControl({
    token: config.adminToken,
    faults: config.faults,
    maxDelayMs: Math.round(config.maxDelay * 1000),
    apply: (faults) => topology.setFaults(faults),
    log,
  });
  const now = (): AdminStatus => ({ ...status(topology), disabled: control.disabled });
  const metrics = createMetrics(
    () => topology.metrics(),
    () => notReady(now()) === undefined,
  );
  const started = await startAdmin(adminHost, admin, now, metrics, control).catch(
    async (err: unknown) => {
      await topology.stop(0);
      throw err;
    },
  );
  return { topology, admin: started };
}
