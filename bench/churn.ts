/**
 * Connection churn against every mode, interleaved with the single-loop baseline in one run
 * (single, A, single, B, ... for each round), medians over the rounds. Reports connections/s,
 * the ratio to the single loop measured in the same run, and µs of server and client CPU per
 * connection. The full bench (issue #3) supersedes this; it exists to check the handoff design.
 *
 *   npm run bench:churn -- [--modes handoff,cluster] [--workers 2] [--rounds 3] [--seconds 3]
 *                          [--concurrency 50] [--balance least-connections]
 */
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { churn } from "./lib/churn-client.ts";
import { startServer, treeCpuSeconds } from "./lib/server.ts";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: "handoff,cluster,cluster-shared,reuseport,threads" },
    workers: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "50" },
    balance: { type: "string", default: "least-connections" },
  },
});
const modes = (values.modes as string).split(",");
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const durationMs = Number(values.seconds) * 1000;
const concurrency = Number(values.concurrency);

interface Sample {
  rate: number;
  serverUs: number;
  clientUs: number;
  errors: number;
  mismatches: number;
}

async function measure(mode: string): Promise<Sample> {
  const server = await startServer([
    "--mode",
    mode,
    "--workers",
    String(workers),
    "--port",
    "0",
    "--balance",
    values.balance as string,
    "--log-level",
    "warn",
  ]);
  try {
    await churn("127.0.0.1", server.port, concurrency, 300); // warm-up
    const cpu0 = treeCpuSeconds(server.pid);
    const client0 = process.cpuUsage();
    const r = await churn("127.0.0.1", server.port, concurrency, durationMs);
    const serverCpu = treeCpuSeconds(server.pid) - cpu0;
    const client = process.cpuUsage(client0);
    return {
      rate: r.connections / r.seconds,
      serverUs: (serverCpu * 1e6) / r.connections,
      clientUs: (client.user + client.system) / r.connections,
      errors: r.errors,
      mismatches: r.mismatches,
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
      process.stderr.write(`round ${round + 1} ${m}: ${Math.round(s.rate)} conn/s\n`);
    }
  }
}

const base = median((samples.get("single") ?? []).map((s) => s.rate));
console.log(
  `\nchurn: connect, one ${64}-byte round trip, RST; ${concurrency} concurrent loops, ${durationMs / 1000} s x ${rounds} rounds, ${workers} workers`,
);
console.log(`machine: ${cpus()[0]?.model} x ${availableParallelism()}, Node ${process.version}\n`);
console.log(
  "| mode | conn/s median (min–max) | vs single | server µs/conn | client µs/conn | errors |",
);
console.log("|---|---|---|---|---|---|");
for (const [mode, ss] of samples) {
  const rates = ss.map((s) => s.rate);
  console.log(
    `| ${mode} | ${Math.round(median(rates))} (${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}) | ${(median(rates) / base).toFixed(2)}× | ${median(ss.map((s) => s.serverUs)).toFixed(0)} | ${median(ss.map((s) => s.clientUs)).toFixed(0)} | ${ss.reduce((a, s) => a + s.errors + s.mismatches, 0)} |`,
  );
}
