/**
 * `npm run bench:micro`: tinybench micro-benchmarks of the hot paths, each beside what it could
 * be compared with in the same run:
 * - the balancer's choice among 8 workers (least-connections, round-robin);
 * - the primary's handling of a worker's load message (JSON over IPC, then the type guard);
 * - the echo handler: a 64-byte round trip through echo() and through socket.pipe(socket);
 * - the load client's per-message work: histogram recording and checking an echoed chunk.
 *
 *   npm run bench:micro [-- --time MS]
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { availableParallelism, cpus } from "node:os";
import { Bench } from "tinybench";
import { number, parseFlags, runMain } from "../src/args.ts";
import { Pattern } from "../src/load/flows/pattern.ts";
import { createHistogram } from "../src/load/report/histogram.ts";
import type { Candidate } from "../src/main/handoff/balancer.ts";
import { pick } from "../src/main/handoff/balancer.ts";
import { handoffHistogram } from "../src/main/metrics.ts";
import { type FromWorker, isFromWorker } from "../src/messages.ts";
import { Tally } from "../src/worker/loop/tally.ts";
import { echoHandler } from "../src/worker/tcp/echo.ts";

const COMMAND = "echoplex-micro";

async function listenLocal(server: Server): Promise<Socket> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
  socket.setNoDelay(true);
  await once(socket, "connect");
  return socket;
}

/** One 64-byte round trip on a connected socket. */
function roundTrip(socket: Socket, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= payload.length) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
    socket.write(payload);
  });
}

async function main(): Promise<void> {
  const f = parseFlags(
    COMMAND,
    { time: number(10, 60_000, 500, "milliseconds per task") },
    process.argv.slice(2),
  );
  const workers: Candidate[] = Array.from({ length: 8 }, (_, i) => ({
    ready: true,
    free: i !== 3,
    stalled: false,
    load: 100 + ((i * 7) % 5),
  }));
  let cursor = 0;
  const load: FromWorker = { t: "load", open: 1234, received: 56_789 };
  const echoServer = createServer(
    { allowHalfOpen: true },
    echoHandler(null, () => true, new Tally()),
  );
  const pipeServer = createServer((s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });
  const viaEcho = await listenLocal(echoServer);
  const viaPipe = await listenLocal(pipeServer);
  const payload = Buffer.alloc(64, 1);
  const histogram = createHistogram();
  let value = 1;
  const small = new Pattern(64);
  const large = new Pattern(64 * 1024);
  const largeChunk = Buffer.from(large.messages[0] as Buffer);

  const handoffSeconds = handoffHistogram();
  const bench = new Bench({ time: f.time });
  bench
    .add("balancer: pick, least-connections, 8 workers", () => {
      cursor = (pick(workers, "least-connections", cursor) + 1) % 8;
    })
    .add("balancer: pick, round-robin, 8 workers", () => {
      cursor = (pick(workers, "round-robin", cursor) + 1) % 8;
    })
    .add("metrics: time one handoff (prom-client histogram observe)", () => {
      value = (value * 7 + 13) % 5_000_000;
      handoffSeconds.observe(value / 1e9);
    })
    .add("IPC: load message JSON round trip + guard", () => {
      if (!isFromWorker(JSON.parse(JSON.stringify(load)))) throw new Error("guard rejected");
    })
    .add("echo: 64 B round trip through echo()", () => roundTrip(viaEcho, payload))
    .add("echo: 64 B round trip through socket.pipe(socket)", () => roundTrip(viaPipe, payload))
    .add("client: record a latency (HDR)", () => {
      value = (value * 7 + 13) % 5_000_000;
      histogram.recordValue(value + 1000);
    })
    .add("client: check a 64 B echoed chunk", () => {
      if (!small.matches(small.period, 0, 64, 0)) throw new Error("mismatch");
    })
    .add("client: check a 64 KiB echoed chunk", () => {
      if (!large.matches(largeChunk, 0, largeChunk.length, 0)) throw new Error("mismatch");
    });
  await bench.run();
  viaEcho.destroy();
  viaPipe.destroy();
  echoServer.close();
  pipeServer.close();

  const lines = [
    `machine: ${cpus()[0]?.model.trim()}, ${availableParallelism()} cores, Node ${process.version}; ${f.time} ms per task`,
    "",
    "| task | ops/s | mean | p99 | samples | ± |",
    "|---|---|---|---|---|---|",
  ];
  const ns = (ms: number) =>
    ms >= 0.01 ? `${(ms * 1000).toFixed(1)} µs` : `${(ms * 1e6).toFixed(0)} ns`;
  for (const task of bench.tasks) {
    const r = task.result;
    if (!("latency" in r)) {
      lines.push(`| ${task.name} | failed: ${"error" in r ? String(r.error) : r.state} | | | | |`);
      continue;
    }
    lines.push(
      `| ${task.name} | ${Math.round(r.throughput.mean).toLocaleString("en-US")} | ${ns(r.latency.mean)} | ${ns(r.latency.p99)} | ${r.latency.samplesCount} | ${r.latency.rme.toFixed(1)}% |`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

runMain(COMMAND, main);
