/**
 * Start the echoplex CLI as a child process and wait for its one "listening" line. Used by the
 * benchmarks and by the tests, so both drive the server exactly as a user does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LINES } from "../../src/log.ts";

export const CLI = fileURLToPath(new URL("../../src/main/cli.ts", import.meta.url));

export interface RunningServer {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** The parsed "listening" line. */
  readonly listening: Record<string, unknown>;
  /** Every JSON line the server printed so far. */
  readonly lines: Record<string, unknown>[];
  /**
   * Every holder of its stdout is gone and all of it is read: `lines` holds the workers' last
   * lines too. (Workers share the primary's stdout, so this can come after the primary's exit.)
   */
  readonly closed: Promise<void>;
  /** Send a signal and resolve with how the process exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How to run a server, besides its flags. */
export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for its listening line (default 20 s). */
  readonly timeoutMs?: number;
  /** The entry point (default: this repository's src/main/cli.ts). */
  readonly cli?: string | undefined;
  /** A command that runs the server, e.g. ["sh", "-c", 'ulimit -n 256 && exec "$@"', "sh"]. */
  readonly wrap?: readonly string[];
  /** Node flags for the server's primary (workers inherit them after their own). */
  readonly nodeFlags?: readonly string[];
}

/** Every server started here and not yet exited: a bench that is stopped stops them too. */
const live = new Set<ChildProcess>();

/** Kill every server still running (a bench interrupted mid-run). */
export function killServers(): void {
  for (const proc of live) proc.kill("SIGKILL");
}

export function startServer(
  args: readonly string[],
  { env = {}, timeoutMs = 20_000, cli = CLI, wrap = [], nodeFlags = [] }: StartOptions = {},
): Promise<RunningServer> {
  // echoplex's admin port defaults to 9464; two servers at once would fight over it.
  const admin = cli === CLI && !args.includes("--admin") ? ["--admin", "0"] : [];
  const command = [...wrap, process.execPath, ...nodeFlags, cli, ...admin, ...args];
  const proc = spawn(command[0] as string, command.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => proc.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not print "listening" within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    let buffered = "";
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(parsed);
        if (parsed.msg === LINES.listening) {
          clearTimeout(timer);
          resolve({
            proc,
            pid: proc.pid as number,
            port: parsed.port as number,
            listening: parsed,
            lines,
            closed,
            stop(signal = "SIGTERM") {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}) before listening: ${stderr}`));
    });
  });
}
