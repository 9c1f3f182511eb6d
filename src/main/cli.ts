#!/usr/bin/env node
/**
 * The echoplex command: flags -> Config -> a running server (lifecycle.ts: one "listening" line
 * when every worker is ready; SIGTERM/SIGINT drain and exit 0; SIGHUP restarts the workers one
 * at a time).
 * Expected failures print one line on stderr with their code: exit 2 for usage errors, 1 for
 * the rest.
 */
// First: from here on a signal can no longer kill the primary before it is ready for it.
import "./early-signals.ts";
import pkg from "../../package.json" with { type: "json" };
import { EchoplexError, USAGE_ERRORS } from "../errors.ts";
import { createLogger } from "../log.ts";
import { checkNode } from "../node-version.ts";
import { parseCommand } from "./config/config.ts";
import { asFile } from "./config/config-file.ts";
import { helpText } from "./config/help.ts";
import { Lifecycle } from "./lifecycle.ts";

function fail(err: unknown): never {
  if (err instanceof EchoplexError) {
    process.stderr.write(`echoplex: ${err.message} [${err.code}]\n`);
    process.exit(USAGE_ERRORS.has(err.code) ? 2 : 1);
  }
  process.stderr.write(`echoplex: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  checkNode();
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
  await new Lifecycle(command.config, createLogger(command.config.logLevel), fail).run();
}

main().catch(fail);
