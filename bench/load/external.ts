/**
 * An external load client in place of ours, to calibrate against native code (for example the
 * C `echoload` beside the project in ../shared/tools; nothing here needs it). The command gets
 * {host} {port} {connections} {size} {seconds} {rate} {workload} {pipeline} filled in, must do that
 * workload itself, and must print `msgs/s=N` and may print `MB/s=N p50_us=N p99_us=N p999_us=N
 * errors=N mismatches=N`. Its CPU is read from this process's waited-for children.
 */
import { spawn } from "node:child_process";
import type { LoadOptions, LoadReport, WindowHooks } from "../../src/load/run.ts";
import { failedShare, loadHeader, SATURATED, workloadOf } from "../../src/load/run.ts";
import { waitedChildrenCpuSeconds } from "../lib/proc.ts";

export async function runExternal(
  command: string,
  o: LoadOptions,
  hooks?: WindowHooks,
): Promise<LoadReport> {
  const workload = workloadOf(o);
  const line = Object.entries({
    host: o.host,
    port: o.port,
    connections: o.connections,
    size: o.size,
    seconds: o.seconds,
    rate: o.rate,
    pipeline: o.pipeline,
    workload,
  }).reduce((cmd, [k, v]) => cmd.replaceAll(`{${k}}`, String(v)), command);
  const cpu0 = waitedChildrenCpuSeconds();
  const child = spawn("sh", ["-c", line], { stdio: ["ignore", "pipe", "pipe"] });
  hooks?.open?.();
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  hooks?.close?.();
  const cpu = waitedChildrenCpuSeconds() - cpu0;
  const field = (name: string): number =>
    Number(new RegExp(`${name.replace("/", "\\/")}=([0-9.]+)`).exec(out)?.[1] ?? Number.NaN);
  const rate = field("msgs/s");
  if (status !== 0 || Number.isNaN(rate))
    throw new Error(`external client failed: ${line}: ${out.trim()}`);
  const or0 = (x: number) => (Number.isNaN(x) ? 0 : x);
  const cores = Math.round((cpu / o.seconds) * 100) / 100;
  return {
    ...loadHeader(o, workload, 1),
    msgs_per_s: Math.round(rate),
    mb_per_s: or0(field("MB/s")),
    messages: Math.round(rate * o.seconds),
    p50_us: or0(field("p50_us")),
    p90_us: Number.NaN,
    p99_us: or0(field("p99_us")),
    p999_us: or0(field("p999_us")),
    max_us: Number.NaN,
    mean_us: Number.NaN,
    samples: Math.round(rate * o.seconds),
    errors: or0(field("errors")),
    stalled: 0,
    timeouts: 0,
    mismatches: or0(field("mismatches")),
    ...failedShare(Math.round(rate * o.seconds), or0(field("errors"))),
    client_cpu_s: cpu,
    client_thread_cores: [cores],
    client_saturated: cores >= SATURATED,
    service_p50_us: or0(field("p50_us")),
    service_p99_us: or0(field("p99_us")),
    histogram: "",
  };
}
