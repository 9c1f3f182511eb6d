/** Run `npm run load`'s script as a user does, without blocking this process's event loop. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadOptions } from "../../src/load/run.ts";

export const LOAD_CLI = fileURLToPath(new URL("../../src/load/cli.ts", import.meta.url));

/** A short in-process run on loopback: tests override the port and what they vary. */
export const BASE_LOAD: LoadOptions = {
  host: "127.0.0.1",
  port: 0,
  connections: 4,
  size: 64,
  seconds: 0.4,
  warmupSeconds: 0,
  pipeline: 1,
  rate: 0,
  churn: false,
  threads: 2,
  timeoutMs: 2000,
};

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last stdout line parsed as JSON, when it is JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export function runScript(
  script: string,
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  const proc = spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  proc.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  // SIGTERM first: the bench then stops the servers it started (bench/run.ts), SIGKILL after.
  const timer = setTimeout(() => {
    proc.kill("SIGTERM");
    setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
  }, timeoutMs);
  return new Promise((resolve) => {
    proc.on("close", (status) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout.trimEnd().split("\n").at(-1) ?? "");
      } catch {
        json = undefined;
      }
      resolve({ status, stdout, stderr, json });
    });
  });
}

export const runLoadCli = (args: readonly string[], env?: NodeJS.ProcessEnv) =>
  runScript(LOAD_CLI, args, 60_000, env);
