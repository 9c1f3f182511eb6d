/**
 * What the bench and the tests read of processes from Linux /proc: children, CPU time by process
 * and by thread, and fields of /proc/PID/status. One reader, so the two agree on what a figure
 * means. Every reader returns an empty result for a process that has exited.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** The fields of a /proc stat line after the command name (which may hold spaces). */
function statFields(path: string): string[] {
  const stat = readFileSync(path, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** A field of /proc/PID/status ("VmRSS", "SigCgt", ...) as printed, or undefined. */
export function statusField(pid: number | "self", field: string): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return new RegExp(`^${field}:\\s*(.+)$`, "m").exec(status)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's children that have been waited for (cutime + cstime). */
export function waitedChildrenCpuSeconds(): number {
  const fields = statFields("/proc/self/stat");
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
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

/** CPU seconds (user + system) used so far by a process and all its descendants still alive. */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  try {
    // After the command name: state is [0], utime [11], stime [12].
    const fields = statFields(`/proc/${pid}/stat`);
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

/** CPU seconds between two samples, split into the root process's threads and everyone else's. */
export function processSplit(
  before: ThreadCpu,
  after: ThreadCpu,
  rootPid: number,
): { primary: number; workers: number } {
  let primary = 0;
  let workers = 0;
  for (const [key, t] of after) {
    const used = t.seconds - (before.get(key)?.seconds ?? 0);
    if (key.startsWith(`${rootPid}/`)) primary += used;
    else workers += used;
  }
  return { primary, workers };
}

/** Resident memory of a process and of each of its children, in MiB (0 for one that exited). */
export function treeRssMiB(pid: number): { primary: number; workers: number[] } {
  const mib = (p: number) => Number.parseInt(statusField(p, "VmRSS") ?? "0", 10) / 1024;
  return { primary: mib(pid), workers: childPids(pid).map(mib) };
}
