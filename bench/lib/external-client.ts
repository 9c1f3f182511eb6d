/**
 * An optional external load client, for calibrating against native code (for example the C
 * `echoload` beside the project, in ../shared/tools): the command gets {port} and {seconds}
 * filled in and must print `msgs/s=N`, `errors=N` and `mismatches=N`. Nothing needs it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { LoadResult } from "./workload.ts";

/** CPU seconds of this process's children that have been waited for (Linux /proc). */
function waitedChildrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in clock ticks
}

export function runExternal(
  command: string,
  port: number,
  seconds: number,
): LoadResult & { cpuSeconds: number } {
  const cpu0 = waitedChildrenCpuSeconds();
  const line = command.replaceAll("{port}", String(port)).replaceAll("{seconds}", String(seconds));
  const r = spawnSync("sh", ["-c", line], { encoding: "utf8" });
  const cpuSeconds = waitedChildrenCpuSeconds() - cpu0;
  const field = (name: string): number =>
    Number(new RegExp(`${name}=([0-9.]+)`).exec(r.stdout)?.[1] ?? Number.NaN);
  const rate = field("msgs/s");
  if (r.status !== 0 || Number.isNaN(rate))
    throw new Error(`external client failed: ${line}\n${r.stdout}${r.stderr}`);
  return {
    count: rate * seconds,
    errors: field("errors"),
    mismatches: field("mismatches"),
    seconds,
    cpuSeconds,
  };
}
