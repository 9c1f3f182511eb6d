/** The load client's flags (`npm run load -- --help`), apart so that tests can parse them. */
import { availableParallelism } from "node:os";
import { type Flag, number, text, toggle } from "../args.ts";
import { bad } from "../main/config/parse.ts";

/** --rate: messages per second, or a ramp from one rate to another over the window. */
export interface RateSpec {
  readonly from: number;
  /** The rate at the window's end (`from` without a ramp). */
  readonly to: number;
  /** Levels of a stepped ramp (0: linear). */
  readonly steps: number;
}

const MAX_RATE = 10_000_000;
const RATE = /^(\d{1,8}(?:\.\d{1,3})?)(?:\.\.(\d{1,8}(?:\.\d{1,3})?)(?::(\d{1,4}))?)?$/;

const rate: Flag<RateSpec> = {
  help: "open loop: total messages per second (0: closed loop); A..B ramps from A to B over the measured window, A..B:STEPS in that many levels",
  fallback: { from: 0, to: 0, steps: 0 },
  parse(raw, flag) {
    const m = RATE.exec(raw.trim());
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    const steps = m?.[3] === undefined ? 0 : Number(m[3]);
    const ramp = m?.[2] !== undefined;
    if (
      m === null ||
      from > MAX_RATE ||
      to > MAX_RATE ||
      (ramp && (from <= 0 || to <= 0)) ||
      (m[3] !== undefined && (steps < 2 || steps > 1000))
    )
      throw bad(
        `--${flag}`,
        raw,
        `messages per second from 0 to ${MAX_RATE}, or a ramp A..B (both above 0) with :STEPS from 2 to 1000`,
      );
    return { from, to, steps };
  },
};

export const LOAD_FLAGS = {
  host: text("127.0.0.1", "the echo server's address"),
  port: number(1, 65_535, 7007, "the echo server's port"),
  connections: number(
    1,
    100_000,
    50,
    "connections (churn: concurrent connect loops; with --rate, open at most at once)",
  ),
  size: number(1, 64 * 1024 * 1024, 64, "bytes per message"),
  duration: number(0.1, 86_400, 10, "seconds measured, after the warm-up", false),
  warmup: number(0, 3600, 1, "seconds of load before measuring", false),
  pipeline: number(1, 64, 1, "messages in flight per connection (closed loop)"),
  rate,
  interval: number(
    0,
    3600,
    0,
    "print a row every SECONDS of the window (rate, p50/p99/p99.9, failures), and keep them in the report; 0: none",
    false,
  ),
  churn: toggle(
    "connect, one round trip, close with RST, again: connections per second; with --rate R, R new connections a second (open loop)",
  ),
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
  slo: text(
    "",
    "find the capacity: the highest open-loop rate whose run meets this SLO (p99=5ms,p999=20ms,errors=0), by steps of --warmup + --duration each (ramp, bisection, confirmation); --rate A sets the first step, --rate A..B the range; with --churn, new connections a second",
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
        : name === "rate"
          ? "0"
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
