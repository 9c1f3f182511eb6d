/**
 * Start the echoplex CLI as a child process and wait for its one "listening" line. Used by the
 * benchmarks and by the tests, so both drive the server exactly as a user does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
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

export function startServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
  cli = CLI,
  /** A command that runs the server, e.g. ["sh", "-c", 'ulimit -n 256 && exec "$@"', "sh"]. */
  wrap: readonly string[] = [],
): Promise<RunningServer> {
  // echoplex's admin port defaults to 9464; two servers at once would fight over it.
  const admin = cli === CLI && !args.includes("--admin") ? ["--admin", "0"] : [];
  const command = [...wrap, process.execPath, cli, ...admin, ...args];
  const proc = spawn(command[0] as string, command.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
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

/** Pids of a process's children (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by a process and all its descendants still alive. */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  try {
    // Fields after the command name: state is 3rd, utime 14th, stime 15th (1-based, whole line).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
  for (const child of childPids(pid)) total += treeCpuSeconds(child);
  return total;
}

/** CPU seconds of one thread, by "pid/tid", with the thread's name (Node names its threads). */
export type ThreadCpu = Map<string, { readonly name: string; readonly seconds: number }>;

/** Every thread of `pid` and of its descendants: name and CPU seconds so far. */
export function treeThreadCpu(pid: number, out: ThreadCpu = new Map()): ThreadCpu {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
      out.set(`${pid}/${tid}`, { name, seconds });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  for (const child of childPids(pid)) treeThreadCpu(child, out);
  return out;
}

/** Where a server's CPU went over a window, in cores. */
export interface ThreadCores {
  /** The busiest event loop (a process's or a worker thread's main thread). */
  readonly busiestLoop: number;
  /** Every event loop together. */
  readonly loops: number;
  /** Worker threads: piscina pool threads, or the echo threads of threads mode. */
  readonly workerThreads: number;
  /** Everything else: V8's helpers, libuv's pool, ... */
  readonly other: number;
}

/** Cores per kind of thread between two samples `seconds` apart. */
export function threadCores(before: ThreadCpu, after: ThreadCpu, seconds: number): ThreadCores {
  let busiest = 0;
  let loops = 0;
  let workers = 0;
  let other = 0;
  for (const [key, t] of after) {
    const used = t.seconds - (before.get(key)?.seconds ?? 0);
    if (t.name === "MainThread") {
      loops += used;
      busiest = Math.max(busiest, used);
    } else if (t.name === "WorkerThread") workers += used;
    else other += used;
  }
  const cores = (x: number) => (seconds > 0 ? Math.round((x / seconds) * 100) / 100 : 0);
  return {
    busiestLoop: cores(busiest),
    loops: cores(loops),
    workerThreads: cores(workers),
    other: cores(other),
  };
}
