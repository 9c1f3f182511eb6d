/**
 * `npm run bench:calibrate -- --server-command CMD --client-command CMD`: is our load client
 * fast enough not to be what the bench measures? Runs a native client and ours against the same
 * native echo server, interleaved (native, ours, native, ours, ...), and reports the medians
 * and the ratio. The commands get {port} (and the client {connections} {size} {seconds}) filled
 * in; ../shared/tools has a C epoll server and client for this (build with gcc -O2). Nothing
 * else in the project needs them.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { number, parseFlags, runMain, text } from "../src/args.ts";
import { type LoadOptions, type LoadReport, runLoad } from "../src/load/run.ts";
import { treeCpuSeconds } from "./lib/proc.ts";
import { median } from "./lib/stats.ts";
import { runExternal } from "./load/external.ts";
import { describeMachine, machine } from "./runner/machine.ts";

const COMMAND = "echoplex-calibrate";

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function main(): Promise<void> {
  const f = parseFlags(
    COMMAND,
    {
      "server-command": text("", "the native echo server, e.g. '/tmp/echod {port}'"),
      "client-command": text(
        "",
        "the native client, e.g. '/tmp/echoload -p {port} -c {connections} -s {size} -d {seconds}'",
      ),
      connections: number(1, 100_000, 50, "connections"),
      size: number(1, 1 << 26, 64, "bytes per message"),
      seconds: number(0.5, 600, 3, "seconds per run", false),
      rounds: number(1, 50, 5, "rounds (one native run and one of ours each)"),
      threads: number(1, 64, 1, "our client's threads"),
    },
    process.argv.slice(2),
  );
  if (!f["server-command"] || !f["client-command"]) {
    process.stderr.write(`${COMMAND}: give --server-command and --client-command (see --help)\n`);
    process.exit(2);
  }
  const port = await freePort();
  const server = spawn(
    "sh",
    ["-c", `exec ${f["server-command"].replaceAll("{port}", String(port))}`],
    {
      stdio: "inherit",
    },
  );
  await new Promise((r) => setTimeout(r, 300));
  const o: LoadOptions = {
    host: "127.0.0.1",
    port,
    connections: f.connections,
    size: f.size,
    seconds: f.seconds,
    warmupSeconds: 0,
    pipeline: 1,
    rate: 0,
    churn: false,
    threads: f.threads,
    timeoutMs: 2000,
  };
  const rows: { client: string; r: LoadReport; serverCores: number }[] = [];
  try {
    for (let round = 0; round < f.rounds; round++) {
      for (const client of ["native", "ours"]) {
        let cpu0 = 0;
        let serverCpu = 0;
        const hooks = {
          open: () => {
            cpu0 = treeCpuSeconds(server.pid as number);
          },
          close: () => {
            serverCpu = treeCpuSeconds(server.pid as number) - cpu0;
          },
        };
        const r =
          client === "native"
            ? await runExternal(f["client-command"], o, hooks)
            : await runLoad(o, hooks);
        rows.push({ client, r, serverCores: serverCpu / o.seconds });
        process.stderr.write(`round ${round + 1} ${client}: ${r.msgs_per_s} msg/s\n`);
      }
    }
  } finally {
    server.kill("SIGKILL");
  }
  const med = (client: string, f: (x: (typeof rows)[number]) => number) =>
    median(rows.filter((x) => x.client === client).map(f));
  const native = med("native", (x) => x.r.msgs_per_s);
  const ours = med("ours", (x) => x.r.msgs_per_s);
  const lines = [
    `steady echo, ${f.connections} connections x ${f.size} B, one in flight each; ${f.rounds} rounds x ${f.seconds} s, interleaved`,
    `server: \`${f["server-command"]}\`; native client: \`${f["client-command"]}\`; ours: ${f.threads} thread(s)`,
    `machine: ${describeMachine(machine())}`,
    "",
    "| client | msg/s median (min–max) | p50 / p99 µs | client cores | server cores |",
    "|---|---|---|---|---|",
  ];
  for (const client of ["native", "ours"]) {
    const rates = rows.filter((x) => x.client === client).map((x) => x.r.msgs_per_s);
    lines.push(
      `| ${client} | ${Math.round(median(rates))} (${Math.min(...rates)}–${Math.max(...rates)}) | ${med(client, (x) => x.r.p50_us).toFixed(0)} / ${med(client, (x) => x.r.p99_us).toFixed(0)} | ${med(client, (x) => x.r.client_cpu_s / o.seconds).toFixed(2)} | ${med(client, (x) => x.serverCores).toFixed(2)} |`,
    );
  }
  lines.push("", `ours / native: **${(ours / native).toFixed(2)}×**`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

runMain(COMMAND, main);
