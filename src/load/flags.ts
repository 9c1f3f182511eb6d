/** The load client's flags (`npm run load -- --help`), apart so that tests can parse them. */
import { availableParallelism } from "node:os";
import { number, text, toggle } from "../args.ts";

export const LOAD_FLAGS = {
  host: text("127.0.0.1", "the echo server's address"),
  port: number(1, 65_535, 7007, "the echo server's port"),
  connections: number(1, 100_000, 50, "connections (churn: concurrent connect loops)"),
  size: number(1, 64 * 1024 * 1024, 64, "bytes per message"),
  duration: number(0.1, 86_400, 10, "seconds measured, after the warm-up", false),
  warmup: number(0, 3600, 1, "seconds of load before measuring", false),
  pipeline: number(1, 64, 1, "messages in flight per connection (closed loop)"),
  rate: number(0, 10_000_000, 0, "open loop: total messages per second (0: closed loop)"),
  churn: toggle("connect, one round trip, close with RST, again: connections per second"),
  threads: number(1, 256, Math.max(1, Math.floor(availableParallelism() / 2)), "client threads"),
  timeout: number(0.001, 3600, 2, "seconds a reply may take before it counts as a timeout", false),
  protocol: text(
    "tcp",
    "tcp (raw echo), ws (binary WebSocket frames to /ws), udp (datagrams, sequence-numbered), http (POSTs, through autocannon) or http2 (POSTs over h2c, with prior knowledge)",
    ["tcp", "ws", "udp", "http", "http2"],
  ),
  http: toggle("the same as --protocol http"),
  tls: toggle("connect over TLS (tcp, ws, http, http2; http2 offers h2 by ALPN)"),
  insecure: toggle(
    "with --tls: do not check the server's certificate (self-signed ones; to trust a private CA instead, set NODE_EXTRA_CA_CERTS=FILE)",
  ),
  json: toggle("print the report as one JSON object on the last line of stdout"),
  save: text("", "also write the full report, HDR histogram included, to FILE (for load:merge)"),
  at: text(
    "",
    "start at this time (ISO 8601 or epoch ms): clients on several hosts measure one window",
  ),
};

/** docs/flags.md's second table: the load client's flags, as `--help` says them. */
export function loadFlagsMarkdown(): string {
  const rows = Object.entries(LOAD_FLAGS).map(([name, f]) => {
    const fallback =
      name === "threads"
        ? "half the cores"
        : f.fallback === false || f.fallback === ""
          ? ""
          : String(f.fallback);
    return `| \`--${name}\` | ${fallback} | ${f.help.replaceAll("|", "\\|")} |`;
  });
  return [
    "## echoplex-load",
    "",
    "The load client (`npm run load --` in this repository; `load()` from `echoplex/load` takes the same flags, camelCase). `echoplex-load merge FILE... [--json]` adds up reports saved with `--save`. More: [LOAD.md](LOAD.md).",
    "",
    "| flag | default | meaning |",
    "| --- | --- | --- |",
    ...rows,
    "| `--help` | | print and exit |",
    "",
  ].join("\n");
}
