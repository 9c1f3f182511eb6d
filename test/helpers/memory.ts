/** Server memory as the kernel sees it: the resident set of a process and its children. */
import { childPids, statusField } from "../../bench/lib/proc.ts";

export const MiB = 2 ** 20;

/** Resident memory, in bytes, of `pid` and its child processes (0 for one that exited). */
export function treeRss(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childPids(pid)]) {
    total += Number.parseInt(statusField(p, "VmRSS") ?? "0", 10) * 1024; // "1234 kB"
  }
  return total;
}
