#!/usr/bin/env node
/**
 * The echoplex command: flags -> Config -> a running topology; one "listening" line when every
 * worker is ready; SIGTERM/SIGINT drain and exit 0; SIGHUP restarts the workers one at a time.
 * Expected failures print one line on stderr with their code: exit 2 for usage errors, 1 for
 * the rest.
 */
import pkg from "../../package.json" with { type: "json" };
import { EchoplexError, USAGE_ERRORS } from "../errors.ts";
import { createLogger } from "../log.ts";
import { type AdminStatus, notReady, startAdmin } from "./admin.ts";
import { helpText, parseCommand } from "./config.ts";
import { asFile } from "./config-file.ts";
import { createMetrics } from "./metrics.ts";
import { TOPOLOGIES } from "./topologies/index.ts";

function fail(err: unknown): never {
  if (err instanceof EchoplexError) {
    process.stderr.write(`echoplex: ${err.message} [${err.code}]\n`);
    process.exit(USAGE_ERRORS.has(err.code) ? 2 : 1);
  }
  process.stderr.write(`echoplex: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const command = parseCommand(process.argv.slice(2), process.env);
  if (command.kind === "help") {
    process.stdout.write(`${helpText(pkg.version)}\n`);
    return;
  }
  if (command.kind === "version") {
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  if (command.kind === "print-config") {
    process.stdout.write(`${JSON.stringify(asFile(command.config), null, 2)}\n`);
    return;
  }
  const { config } = command;
  const log = createLogger(config.logLevel);
  let stopping = false;
  let restarting = false;
  let stop: ((ms: number) => Promise<void>) | undefined;
  const fatal = (err: Error): void => {
    if (stopping) return;
    stopping = true;
    log.error({ err: err.message }, "stopping");
    void (stop?.(0) ?? Promise.resolve()).finally(() => fail(err));
  };
  const topology = await TOPOLOGIES[config.mode](config, log, fatal);
  stop = (ms) => topology.stop(ms);
  const status = (): AdminStatus => ({
    workers: topology.workers(),
    draining: stopping,
    restarting,
  });
  const admin =
    config.admin === null
      ? undefined
      : await startAdmin(
          config.adminHost,
          config.admin,
          status,
          createMetrics(
            () => topology.metrics(),
            () => notReady(status()) === undefined,
          ),
        ).catch(async (err: unknown) => {
          await topology.stop(0);
          throw err;
        });
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C is an impatient human. A second SIGTERM is a supervisor repeating
      // itself (Kubernetes sends one after a preStop hook that already started the drain).
      if (signal === "SIGTERM") return;
      log.warn({ signal }, "second signal: exiting without waiting for the drain");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainTimeout: config.drainTimeout }, "draining");
    topology.stop(config.drainTimeout * 1000).then(
      () => {
        admin?.close();
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => fail(err),
    );
  };
  const restart = (): void => {
    if (stopping) return;
    if (topology.restart === undefined) {
      log.warn({ mode: config.mode }, "SIGHUP ignored: this mode has no workers to restart");
      return;
    }
    if (restarting) {
      log.warn("SIGHUP ignored: a rolling restart is under way");
      return;
    }
    restarting = true;
    log.info({ drainTimeout: config.drainTimeout }, "rolling restart");
    topology
      .restart(config.drainTimeout * 1000)
      .then(
        () => log.info("rolling restart done"),
        (err: Error) =>
          log.error({ err: err.message }, "rolling restart stopped; the old workers keep serving"),
      )
      .finally(() => {
        restarting = false;
      });
  };
  // Before the listening line: whoever reads it may signal at once.
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGHUP", restart);

  // Scripts wait for this line, so it is printed at every level but "silent".
  const announce = config.logLevel === "silent" ? log : log.child({}, { level: "info" });
  const { echo, http, udp } = topology.ports;
  announce.info(
    {
      mode: config.mode,
      workers: config.workers,
      host: config.host,
      port: echo,
      ...(http === null ? {} : { http }),
      ...(udp === null ? {} : { udp }),
      ...(config.tlsCert === null ? {} : { tls: true }),
      ...(admin === undefined ? {} : { admin: admin.port }),
    },
    "listening",
  );
}

main().catch(fail);
