/**
 * Balance of long-lived connections: open N connections (in concurrent batches), prove each
 * served with a round trip, and count how many each worker process holds (read from /proc).
 *
 *   npm run bench:balance -- [--modes handoff,cluster,cluster-shared,reuseport] [--workers 2]
 *                            [--connections 1000] [--batch 100]
 */
import { connect, type Socket } from "node:net";
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { countByOwner } from "./lib/owners.ts";
import { childPids, startServer } from "./lib/server.ts";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: "handoff,cluster,cluster-shared,reuseport" },
    workers: { type: "string", default: "2" },
    connections: { type: "string", default: "1000" },
    batch: { type: "string", default: "100" },
  },
});
const workers = Number(values.workers);
const total = Number(values.connections);
const batch = Number(values.batch);

function served(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => s.write("x"));
    s.once("data", () => resolve(s));
    s.once("error", reject);
  });
}

const variants = (values.modes as string).split(",").flatMap((mode) =>
  mode === "handoff"
    ? [
        { mode, balance: "least-connections" },
        { mode, balance: "round-robin" },
      ]
    : [{ mode, balance: "" }],
);

console.log(
  `${total} long-lived connections in concurrent batches of ${batch}, ${workers} workers`,
);
console.log(`machine: ${cpus()[0]?.model} x ${availableParallelism()}, Node ${process.version}\n`);
console.log("| mode | connections per worker | busiest / least busy |");
console.log("|---|---|---|");
for (const { mode, balance } of variants) {
  const args = [
    "--mode",
    mode,
    "--workers",
    String(workers),
    "--port",
    "0",
    "--log-level",
    "warn",
    "--drain-timeout",
    "1",
  ];
  const server = await startServer(balance ? [...args, "--balance", balance] : args);
  const sockets: Socket[] = [];
  for (let i = 0; i < total; i += batch) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(batch, total - i) }, () => served(server.port)),
      )),
    );
  }
  const counts = [
    ...countByOwner(
      server.port,
      sockets.map((s) => s.localPort as number),
      childPids(server.pid),
    ).values(),
  ];
  const ratio = Math.max(...counts) / Math.max(1, Math.min(...counts));
  console.log(
    `| ${mode}${balance ? ` (${balance})` : ""} | ${counts.join(", ")} | ${ratio.toFixed(2)} |`,
  );
  for (const s of sockets) s.destroy();
  await server.stop();
}
