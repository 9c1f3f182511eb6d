/**
 * `import { start } from "echoplex"`: a server inside another program (a test suite's echo
 * target). The same topologies, settings and checks as the command, without what belongs to a
 * process of its own: no signal handlers, no exit, no log lines unless asked for (lifecycle.ts
 * does those for the command).
 */
import { fail } from "../errors.ts";
import { createLogger } from "../log.ts";
import { checkNode } from "../node-version.ts";
import { configFromOptions, type StartOptions } from "./config/options.ts";
import { launch, type Running } from "./launch.ts";

export type { StartOptions } from "./config/options.ts";

export interface EchoplexPorts {
  /** TCP echo (RFC 862). */
  readonly echo: number;
  /** HTTP/1.1 echo, WebSocket at /ws (and HTTP/2 with `http2`), when `http` is set. */
  readonly http: number | null;
  readonly udp: number | null;
  /** /healthz, /readyz, /metrics, when `admin` is set. */
  readonly admin: number | null;
}

export interface Echoplex {
  /** The bound ports: the real ones where 0 (the default) was asked for; null when off. */
  readonly ports: EchoplexPorts;
  /**
   * Stop taking connections, let open ones finish for up to `drainMs` (default: the
   * `drainTimeout` setting), close the rest. Calling it again returns the same promise.
   */
  stop(drainMs?: number): Promise<void>;
  /**
   * Settles once the server has stopped: after stop(), or rejected with the fault that stopped
   * it by itself (workers that kept failing to start: ECHOPLEX_CRASH_LOOP).
   */
  readonly stopped: Promise<void>;
}

export async function start(options: StartOptions = {}): Promise<Echoplex> {
  checkNode();
  const config = configFromOptions(options);
  const log = createLogger(config.logLevel);
  let draining = false;
  let running: Running | undefined;
  let settle!: (err?: Error) => void;
  const stopped = new Promise<void>((resolve, reject) => {
    settle = (err) => (err === undefined ? resolve() : reject(err));
  });
  stopped.catch(() => {}); // for a caller that never looks; who awaits it still gets the error
  let stopping: Promise<void> | undefined;
  const stop = (ms: number, err?: Error): Promise<void> => {
    if (stopping !== undefined) return stopping;
    draining = true;
    stopping = (running?.topology.stop(Math.round(ms)) ?? Promise.resolve()).then(() => {
      running?.admin?.close();
      settle(err);
    });
    return stopping;
  };
  running = await launch(
    config,
    log,
    (err) => void stop(0, err),
    (topology) => ({ workers: topology.workers(), draining, restarting: false }),
  );
  const { echo, http, udp } = running.topology.ports;
  return {
    ports: { echo, http, udp, admin: running.admin?.port ?? null },
    stop: (drainMs = config.drainTimeout * 1000) =>
      typeof drainMs === "number" && drainMs >= 0 && drainMs <= 86_400_000
        ? stop(drainMs)
        : Promise.reject(
            fail("ECHOPLEX_BAD_OPTION", {
              subject: `stop(${String(drainMs)})`,
              problem: "expected milliseconds to drain, from 0 to 86400000",
            }),
          ),
    stopped,
  };
}
