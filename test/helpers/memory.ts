/** Server memory as the kernel sees it: the resident set of a process and its children. */
import { readFileSync } from "node:fs";
import { childPids } from "./server.ts";

export const MiB = 2 ** 20;

/** Resident memory, in bytes, of `pid` and its child processes (0 for one that exited). */
export function treeRss(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
