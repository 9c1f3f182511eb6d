/**
 * One run of the bench: start the server in the variant's mode, put the scenario's load on it,
 * sample the server's CPU over exactly the client's measured window, stop the server and read
 * how many connections each worker served from its "worker stopped" log lines.
 */

import { runHttpLoad } from "../../src/load/flows/http.ts";
import { type LoadReport, runLoad } from "../../src/load/run.ts";
import { LINES } from "../../src/log.ts";
import { WORKER_EXEC_ARGV } from "../../src/main/supervision/workers.ts";
import {
  processSplit,
  type ThreadCores,
  type ThreadCpu,
  threadCores,
  treeCpuSeconds,
  treeRssMiB,
  treeThreadCpu,
} from "../lib/proc.ts";
import { startServer } from "../lib/server.ts";
import { coresUsed, cpuMicrosPer } from "../lib/stats.ts";
import { runExternal } from "../load/external.ts";
import { clientBound } from "./bound.ts";
import type { Plan, Run } from "./plan.ts";

export interface RunRecord {
  readonly suite: string;
  /** This run is its section's baseline (what "vs" compares with). */
  readonly baseline: boolean;
  readonly scenario: string;
  readonly variant: string;
  readonly mode: string;
  readonly workers: number;
  readonly round: number;
  /** Why the run failed; undefined when it did not. */
  readonly error?: string;
  readonly load?: LoadReport;
  readonly server_cpu_s?: number;
  readonly server_cores?: number;
  /** The same CPU by kind of thread: the busiest event loop, all loops, worker threads, other. */
  readonly server_threads?: ThreadCores;
  readonly client_cores?: number;
  /** µs of CPU per message (churn: per connection). */
  readonly server_us_per_unit?: number;
  readonly client_us_per_unit?: number;
  /**
   * µs of CPU per message (churn: per connection) in the primary process and in the others
   * (worker processes); in single and threads mode everything is the primary's.
   */
  readonly server_split_us?: { readonly primary: number; readonly workers: number };
  /** Resident memory at the end of the window, MiB: the primary, and each worker process. */
  readonly rss_mib?: { readonly primary: number; readonly workers: readonly number[] };
  /** Connections each worker served, in worker order. */
  readonly served?: number[];
  /** Why this run measured the client, not the server; empty when it did not. */
  readonly client_bound?: string[];
}

export async function measure(run: Run, plan: Plan, machineCores: number): Promise<RunRecord> {
  const { scenario: s, variant: v, section } = run;
  const protocol = v.protocol ?? s.protocol;
  const base = {
    suite: section.suite,
    baseline: v === section.baseline,
    scenario: s.id,
    variant: v.id,
    mode: v.mode,
    workers: v.workers,
    round: run.round,
  };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = v.program
      ? await startServer([...v.program.args, "--port", "0"], { cli: v.program.path })
      : await startServer(
          [
            ...["--mode", v.mode, "--workers", String(v.workers), "--port", "0"],
            ...["--log-level", "info", "--drain-timeout", "2", "--admin", "off"],
            ...(s.protocol !== "tcp" ? ["--http", "0"] : []),
            ...section.serverFlags,
            ...v.flags,
          ],
          // The single loop (the primary itself) runs with the workers' V8 flags, so that modes
          // differ in how they spread connections and in nothing else.
          { cli: plan.cli, nodeFlags: WORKER_EXEC_ARGV },
        );
    const pid = server.pid;
    let cpu0 = 0;
    let serverCpu = 0;
    let threads0: ThreadCpu = new Map();
    let threads1: ThreadCpu = new Map();
    let rss: ReturnType<typeof treeRssMiB> | undefined;
    const options = {
      host: "127.0.0.1",
      port: protocol === "tcp" ? server.port : Number(server.listening.http),
      protocol,
      connections: s.connections,
      size: s.size,
      seconds: plan.seconds,
      warmupSeconds: plan.warmupSeconds,
      pipeline: s.pipeline ?? 1,
      rate: s.rate,
      churn: s.workload === "churn",
      threads: plan.threads,
      timeoutMs: 2000,
    };
    const hooks = {
      open: () => {
        cpu0 = treeCpuSeconds(pid);
        threads0 = treeThreadCpu(pid);
      },
      close: () => {
        serverCpu = treeCpuSeconds(pid) - cpu0;
        threads1 = treeThreadCpu(pid);
        rss = treeRssMiB(pid);
      },
    };
    const external = protocol === "http" ? plan.httpClientCommand : plan.clientCommand;
    const load =
      external && (protocol === "tcp" || protocol === "http") && !section.ownClient
        ? await runExternal(external, options, hooks)
        : protocol === "http"
          ? await runHttpLoad(options, hooks)
          : await runLoad(options, hooks); // tcp, ws, udp, http2: the load client's own client
    await server.stop("SIGTERM");
    // The workers' "worker stopped" lines can trail the primary's exit (they share its stdout).
    await Promise.race([server.closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
    const served = server.lines
      .filter((l) => l.msg === LINES.workerStopped)
      .sort((a, b) => Number(a.worker) - Number(b.worker))
      .map((l) => Number(l.served));
    const serverCores = coresUsed(serverCpu, load.seconds);
    const split = processSplit(threads0, threads1, pid);
    return {
      ...base,
      load,
      server_cpu_s: serverCpu,
      server_cores: serverCores,
      server_threads: threadCores(threads0, threads1, load.seconds),
      client_cores: coresUsed(load.client_cpu_s, load.seconds),
      server_us_per_unit: cpuMicrosPer(serverCpu, load.messages),
      client_us_per_unit: cpuMicrosPer(load.client_cpu_s, load.messages),
      server_split_us: {
        primary: cpuMicrosPer(split.primary, load.messages),
        workers: cpuMicrosPer(split.workers, load.messages),
      },
      ...(rss === undefined ? {} : { rss_mib: rss }),
      served,
      client_bound: clientBound({
        workload: s.workload,
        clientThreadCores: load.client_thread_cores,
        serverCores,
        workers: v.workers,
        machineCores,
      }),
    };
  } catch (err) {
    return { ...base, error: (err as Error).message.split("\n")[0] ?? String(err) };
  } finally {
    if (server && server.proc.exitCode === null && server.proc.signalCode === null)
      await server.stop("SIGKILL");
  }
}
