/**
 * Every mode against the single-loop baseline, interleaved in one run (single, A, single, B, ...
 * for each round), medians over the rounds. Two workloads: churn (connect, one 64-byte round
 * trip, close with RST: connections/s) and steady (long-lived connections, one 64-byte message
 * in flight each: messages/s). Reports the rate, its ratio to the single loop in the same run,
 * µs of server and client CPU per unit, and flags a run whose client used 90% of a core or more
 * as client-bound. The full bench (issue #3) supersedes this; it exists to check the handoff design.
 *
 *   node bench/compare.ts [--workload churn|steady] [--modes handoff,handoff:--spill=off,cluster] [--workers 2] [--rounds 3] [--seconds 3]
 *                          [--concurrency 50] [--balance least-connections] [--external CMD]
 *
 * --external runs a native client instead of the built-in one (see lib/external-client.ts); it
 * must do the same workload.
 */
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { churn } from "./lib/churn-client.ts";
import { runExternal } from "./lib/external-client.ts";
import { startServer, treeCpuSeconds } from "./lib/server.ts";
import { steady } from "./lib/steady-client.ts";
import type { LoadResult, Workload } from "./lib/workload.ts";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: "handoff,cluster,cluster-shared,reuseport,threads" },
    workers: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "50" },
    balance: { type: "string", default: "least-connections" },
    external: { type: "string" },
    workload: { type: "string", default: "churn" },
  },
});
const modes = (values.modes as string).split(",");
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const external = values.external;
const workload: Workload = values.workload === "steady" ? steady : churn;
const unit = values.workload === "steady" ? "msg" : "conn";

interface Sample {
  rate: number;
  serverUs: number;
  clientUs: number;
  /** Cores the client used: near 1 means this single-threaded client was the limit. */
  clientCores: number;
  errors: number;
}

/** Run the load and return what it did, with the client's CPU seconds. */
async function load(port: number): Promise<LoadResult & { cpu: number }> {
  if (external !== undefined) {
    const r = runExternal(external, port, seconds);
    return { ...r, cpu: r.cpuSeconds };
  }
  const cpu0 = process.cpuUsage();
  const r = await workload("127.0.0.1", port, concurrency, seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return { ...r, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** A mode, optionally with flags after a colon: "handoff:--spill=off". */
async function measure(variant: string): Promise<Sample> {
  const [mode = variant, ...flags] = variant.split(":");
  const args = ["--mode", mode, "--workers", String(workers), "--port", "0", "--log-level", "warn"];
  const server = await startServer([...args, "--balance", values.balance as string, ...flags]);
  try {
    await workload("127.0.0.1", server.port, concurrency, 300); // warm-up
    const server0 = treeCpuSeconds(server.pid);
    const r = await load(server.port);
    const serverCpu = treeCpuSeconds(server.pid) - server0;
    return {
      rate: r.count / r.seconds,
      serverUs: (serverCpu * 1e6) / r.count,
      clientUs: (r.cpu * 1e6) / r.count,
      clientCores: r.cpu / r.seconds,
      errors: r.errors + r.mismatches,
    };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const samples = new Map<string, Sample[]>([["single", []]]);
for (const m of modes) samples.set(m, []);
for (let round = 0; round < rounds; round++) {
  for (const mode of modes) {
    for (const m of ["single", mode]) {
      const s = await measure(m);
      samples.get(m)?.push(s);
      process.stderr.write(`round ${round + 1} ${m}: ${Math.round(s.rate)} ${unit}/s\n`);
    }
  }
}

const client =
  external === undefined
    ? `built-in Node client, ${concurrency} ${values.workload === "steady" ? "connections" : "concurrent loops"}`
    : `external: ${external}`;
console.log(
  `${values.workload === "steady" ? `steady: ${concurrency} long-lived connections, one 64-byte message in flight each` : "churn: connect, one 64-byte round trip, close with RST"}; ${client}; ${seconds} s x ${rounds} rounds, ${workers} workers`,
);
console.log(`machine: ${cpus()[0]?.model} x ${availableParallelism()}, Node ${process.version}\n`);
console.log(
  `| mode | ${unit}/s median (min–max) | vs single | server µs/${unit} | client µs/${unit} | client cores | errors |`,
);
console.log("|---|---|---|---|---|---|---|");
const base = median((samples.get("single") ?? []).map((s) => s.rate));
for (const [mode, ss] of samples) {
  const rates = ss.map((s) => s.rate);
  const cores = median(ss.map((s) => s.clientCores));
  const cells = [
    mode,
    `${Math.round(median(rates))} (${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))})`,
    `${(median(rates) / base).toFixed(2)}×`,
    median(ss.map((s) => s.serverUs)).toFixed(0),
    median(ss.map((s) => s.clientUs)).toFixed(0),
    cores >= 0.9 ? `${cores.toFixed(2)} **client-bound**` : cores.toFixed(2),
    String(ss.reduce((a, s) => a + s.errors, 0)),
  ];
  console.log(`| ${cells.join(" | ")} |`);
}
