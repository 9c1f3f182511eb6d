/**
 * The running server's life: start the topology and the admin port, announce "listening", and
 * answer signals. The handlers are installed before anything starts, because whoever launched
 * the server may signal at once (systemd's ExecReload, a supervisor's stop): SIGHUP before the
 * server is up is ignored with a warning (the workers starting read the current files anyway);
 * SIGTERM or SIGINT then stops the server as soon as it is up, without announcing it.
 */
import { LINES, type Logger } from "../log.ts";
import type { Admin, AdminStatus } from "./admin.ts";
import type { Config } from "./config/config.ts";
import { takeOverSignals } from "./early-signals.ts";
import { launch } from "./launch.ts";
import type { Topology } from "./topology.ts";

export class Lifecycle {
  readonly #config: Config;
  readonly #log: Logger;
  /** How a failure ends the process (the CLI prints it and exits 1 or 2). */
  readonly #fail: (err: unknown) => never;
  #topology: Topology | undefined;
  #admin: Admin | undefined;
  #stopping = false;
  #restarting = false;

  constructor(config: Config, log: Logger, fail: (err: unknown) => never) {
    this.#config = config;
    this.#log = log;
    this.#fail = fail;
  }

  /** Install the signal handlers, start everything, announce. */
  async run(): Promise<void> {
    process.on("SIGTERM", (s: NodeJS.Signals) => this.#shutdown(s));
    process.on("SIGINT", (s: NodeJS.Signals) => this.#shutdown(s));
    process.on("SIGHUP", () => this.#restart());
    for (const signal of takeOverSignals()) process.emit(signal, signal);
    const { topology, admin } = await launch(
      this.#config,
      this.#log,
      (err) => this.#fatal(err),
      (t) => this.#status(t),
    );
    this.#topology = topology;
    this.#admin = admin;
    if (this.#stopping) {
      this.#log.info("a stop signal came while starting: stopping now");
      this.#stop();
      return;
    }
    this.#announce(topology, this.#admin);
  }

  #status(topology = this.#topology): AdminStatus {
    return {
      workers: topology?.workers() ?? { ready: 0, of: this.#config.workers },
      draining: this.#stopping,
      restarting: this.#restarting,
    };
  }

  #announce(topology: Topology, admin: Admin | undefined): void {
    const c = this.#config;
    // Printed at every level but "silent".
    const announce = c.logLevel === "silent" ? this.#log : this.#log.child({}, { level: "info" });
    const { echo, http, udp } = topology.ports;
    announce.info(
      {
        mode: c.mode,
        workers: c.workers,
        host: c.host,
        port: echo,
        ...(http === null ? {} : { http }),
        ...(udp === null ? {} : { udp }),
        ...(c.tlsCert === null ? {} : { tls: true }),
        ...(admin === undefined ? {} : { admin: admin.port }),
      },
      LINES.listening,
    );
    if (c.unsafeResponses && c.http !== null)
      this.#log.warn({ unsafeResponses: true }, LINES.unsafeResponses);
  }

  /** A crash loop (or another fault of the server itself): stop and exit with it. */
  #fatal(err: Error): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.error({ err: err.message, code: (err as { code?: string }).code }, "stopping");
    void (this.#topology?.stop(0) ?? Promise.resolve()).finally(() => this.#fail(err));
  }

  #shutdown(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      // A second Ctrl-C is an impatient human. A second SIGTERM is a supervisor repeating
      // itself (Kubernetes sends one after a preStop hook that already started the drain).
      if (signal === "SIGTERM") return;
      this.#log.warn({ signal }, "second signal: exiting without waiting for the drain");
      process.exit(1);
    }
    this.#stopping = true;
    const { drainTimeout, drainDelay } = this.#config;
    this.#log.info({ signal, drainTimeout, drainDelay }, "draining");
    // Still starting: run() stops once the topology is up (nothing balances to it yet).
    if (this.#topology === undefined) return;
    // --drain-delay: /readyz already says 503; the listeners stay open until the delay ends.
    if (drainDelay > 0) setTimeout(() => this.#stop(), Math.round(drainDelay * 1000));
    else this.#stop();
  }

  #stop(): void {
    (this.#topology as Topology).stop(Math.round(this.#config.drainTimeout * 1000)).then(
      () => {
        this.#admin?.close();
        this.#log.info(LINES.stopped);
        process.exit(0);
      },
      (err: unknown) => this.#fail(err),
    );
  }

  #restart(): void {
    const topology = this.#topology;
    if (this.#stopping) return;
    if (topology === undefined) {
      this.#log.warn(
        "SIGHUP ignored: the server is still starting (its workers read the current files)",
      );
      return;
    }
    if (topology.restart === undefined) {
      this.#log.warn(
        { mode: this.#config.mode },
        "SIGHUP ignored: this mode has no workers to restart",
      );
      return;
    }
    if (this.#restarting) {
      this.#log.warn("SIGHUP ignored: a rolling restart is under way");
      return;
    }
    this.#restarting = true;
    this.#log.info({ drainTimeout: this.#config.drainTimeout }, LINES.restart);
    topology
      .restart(Math.round(this.#config.drainTimeout * 1000))
      .then(
        () => this.#log.info(LINES.restartDone),
        (err: Error) =>
          this.#log.error(
            { err: err.message, code: (err as { code?: string }).code },
            "rolling restart stopped; the old workers keep serving",
          ),
      )
      .finally(() => {
        this.#restarting = false;
      });
  }
}
