/**
 * Flags and ECHOPLEX_* variables -> one validated Config. Every setting is declared once in
 * SETTINGS (name, variable, default, parser, help), so parsing, validation, --help and the
 * README's flag table cannot drift apart.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { EchoplexError } from "../errors.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import type { WorkSpec } from "../messages.ts";
import { loadTls } from "../tls.ts";
import {
  bytes,
  host,
  integer,
  oneOf,
  onOff,
  type Parser,
  path,
  portOrOff,
  seconds,
  work,
} from "./parse.ts";

export const MODES = [
  "single",
  "handoff",
  "cluster",
  "cluster-shared",
  "reuseport",
  "threads",
] as const;
export type Mode = (typeof MODES)[number];
export const BALANCES = ["round-robin", "least-connections"] as const;
export type Balance = (typeof BALANCES)[number];

export interface Config {
  readonly mode: Mode;
  readonly workers: number;
  readonly balance: Balance;
  /** handoff: lend workers the listener while connections arrive faster than handles pass. */
  readonly spill: boolean;
  readonly host: string;
  readonly port: number;
  /** Seconds open connections may take to finish after SIGTERM/SIGINT. */
  readonly drainTimeout: number;
  readonly logLevel: LogLevel;
  /** HTTP/1.1 echo (and WebSocket on /ws) port, or null when off. */
  readonly http: number | null;
  /** UDP echo port, or null when off. */
  readonly udp: number | null;
  readonly udpRate: number;
  readonly maxBody: number;
  readonly maxMessage: number;
  /** Seconds a request may take to send its headers. */
  readonly headerTimeout: number;
  readonly wsCompression: boolean;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly work: WorkSpec | null;
  readonly offload: number;
}

interface Setting<K extends keyof Config> {
  readonly key: K;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly fallback: () => Config[K];
  readonly parse: Parser<Config[K]>;
}

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({
    key: "mode",
    flag: "mode",
    env: "ECHOPLEX_MODE",
    help: "how connections reach the echo loops (see README)",
    fallback: () => "handoff",
    parse: oneOf(MODES),
  }),
  setting({
    key: "workers",
    flag: "workers",
    env: "ECHOPLEX_WORKERS",
    help: "worker processes or threads (default: available parallelism; single mode uses 1)",
    fallback: () => availableParallelism(),
    parse: integer(1, 1024),
  }),
  setting({
    key: "balance",
    flag: "balance",
    env: "ECHOPLEX_BALANCE",
    help: "how handoff picks a worker",
    fallback: () => "least-connections",
    parse: oneOf(BALANCES),
  }),
  setting({
    key: "spill",
    flag: "spill",
    env: "ECHOPLEX_SPILL",
    help: "handoff: let workers accept directly while the handoff queue is backed up (on|off)",
    fallback: () => true,
    parse: onOff,
  }),
  setting({
    key: "host",
    flag: "host",
    env: "ECHOPLEX_HOST",
    help: "address to listen on",
    fallback: () => "127.0.0.1",
    parse: host,
  }),
  setting({
    key: "port",
    flag: "port",
    env: "ECHOPLEX_PORT",
    help: "TCP echo port (RFC 862); 0 picks a free one",
    fallback: () => 7007,
    parse: integer(0, 65_535),
  }),
  setting({
    key: "drainTimeout",
    flag: "drain-timeout",
    env: "ECHOPLEX_DRAIN_TIMEOUT",
    help: "seconds open connections may finish after SIGTERM/SIGINT",
    fallback: () => 10,
    parse: seconds(86_400),
  }),
  setting({
    key: "logLevel",
    flag: "log-level",
    env: "ECHOPLEX_LOG_LEVEL",
    help: "JSON log level on stdout",
    fallback: () => "info",
    parse: oneOf(LOG_LEVELS),
  }),
  setting({
    key: "http",
    flag: "http",
    env: "ECHOPLEX_HTTP",
    help: "HTTP/1.1 echo port, WebSocket echo on /ws; 0 picks a free one",
    fallback: () => null,
    parse: portOrOff,
  }),
  setting({
    key: "udp",
    flag: "udp",
    env: "ECHOPLEX_UDP",
    help: "UDP echo port (RFC 862); 0 picks a free one",
    fallback: () => null,
    parse: portOrOff,
  }),
  setting({
    key: "udpRate",
    flag: "udp-rate",
    env: "ECHOPLEX_UDP_RATE",
    help: "UDP datagrams answered per second per source address, per worker; 0: no limit",
    fallback: () => 1000,
    parse: integer(0, 10_000_000),
  }),
  setting({
    key: "maxBody",
    flag: "max-body",
    env: "ECHOPLEX_MAX_BODY",
    help: "largest HTTP request body; larger gets 413",
    fallback: () => 1024 ** 2,
    parse: bytes(0, 1024 ** 3),
  }),
  setting({
    key: "maxMessage",
    flag: "max-message",
    env: "ECHOPLEX_MAX_MESSAGE",
    help: "largest WebSocket message; larger closes with 1009",
    fallback: () => 1024 ** 2,
    parse: bytes(1, 1024 ** 3),
  }),
  setting({
    key: "headerTimeout",
    flag: "header-timeout",
    env: "ECHOPLEX_HEADER_TIMEOUT",
    help: "seconds an HTTP client may take to send its headers (then 408 and close)",
    fallback: () => 10,
    parse: seconds(3_600),
  }),
  setting({
    key: "wsCompression",
    flag: "ws-compression",
    env: "ECHOPLEX_WS_COMPRESSION",
    help: "WebSocket permessage-deflate (on|off)",
    fallback: () => false,
    parse: onOff,
  }),
  setting({
    key: "tlsCert",
    flag: "tls-cert",
    env: "ECHOPLEX_TLS_CERT",
    help: "PEM certificate chain: TLS on the TCP echo port and HTTPS/WSS (needs --tls-key)",
    fallback: () => null,
    parse: path,
  }),
  setting({
    key: "tlsKey",
    flag: "tls-key",
    env: "ECHOPLEX_TLS_KEY",
    help: "PEM private key for --tls-cert",
    fallback: () => null,
    parse: path,
  }),
  setting({
    key: "work",
    flag: "work",
    env: "ECHOPLEX_WORK",
    help: "CPU work per message before its echo: none or sha256:ROUNDS",
    fallback: () => null,
    parse: work,
  }),
  setting({
    key: "offload",
    flag: "offload",
    env: "ECHOPLEX_OFFLOAD",
    help: "run --work on a pool of N threads per worker (piscina); 0: on the event loop",
    fallback: () => 0,
    parse: integer(0, 256),
  }),
] as const;

export type Command =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: Config };

/** Flags win over the environment, which wins over defaults. Throws EchoplexError on bad input. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
  };
  for (const s of SETTINGS) options[s.flag] = { type: "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw usageError(err as NodeJS.ErrnoException);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flag = values[s.flag];
    const fromEnv = env[s.env];
    if (typeof flag === "string") config[s.key] = s.parse(flag, `--${s.flag}`);
    else if (fromEnv !== undefined && fromEnv !== "") config[s.key] = s.parse(fromEnv, s.env);
    else config[s.key] = s.fallback();
  }
  const resolved = config as unknown as Config;
  validate(resolved);
  return {
    kind: "run",
    config: resolved.mode === "single" ? { ...resolved, workers: 1 } : resolved,
  };
}

/** Rules between settings; TLS files are read and checked here, so a bad one stops the start. */
function validate(c: Config): void {
  const usage = (message: string) => new EchoplexError("ECHOPLEX_BAD_FLAG", message);
  if (c.offload > 0 && c.work === null) {
    throw usage("--offload needs CPU work to offload: add --work sha256:ROUNDS");
  }
  if (c.http !== null && c.http !== 0 && c.http === c.port) {
    throw usage(`--port and --http must differ (both are ${c.port}); 0 picks a free one`);
  }
  if ((c.tlsCert === null) !== (c.tlsKey === null)) {
    throw usage("--tls-cert and --tls-key go together: give both PEM files, or neither");
  }
  if (c.tlsCert !== null && c.tlsKey !== null) loadTls({ cert: c.tlsCert, key: c.tlsKey });
}

function usageError(err: NodeJS.ErrnoException): EchoplexError {
  const known = SETTINGS.map((s) => `--${s.flag}`).join(", ");
  const detail = err.message.split("\n")[0] ?? "bad arguments";
  if (
    err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ||
    err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
  ) {
    return new EchoplexError(
      "ECHOPLEX_UNKNOWN_FLAG",
      `${detail.replace(/\. .*$/, "")}; known flags: ${known}, --help, --version`,
    );
  }
  // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a flag without its value, or a value given to a boolean.
  return new EchoplexError("ECHOPLEX_BAD_FLAG", detail);
}

export function helpText(version: string): string {
  const lines = [
    `echoplex ${version}: an echo server (RFC 862 TCP and UDP, HTTP/1.1, WebSocket) that scales over cores`,
    "",
    "usage: echoplex [flags]",
    "",
  ];
  for (const s of SETTINGS) {
    lines.push(`  --${s.flag.padEnd(15)} ${s.help} [${s.env}, default: ${describeDefault(s.key)}]`);
  }
  lines.push(
    `  --${"help".padEnd(15)} print this and exit`,
    `  --${"version".padEnd(15)} print the version and exit`,
  );
  lines.push("", `modes: ${MODES.join(", ")}`);
  return lines.join("\n");
}

function describeDefault(key: keyof Config): string {
  if (key === "workers") return "available parallelism";
  const value = SETTINGS.find((s) => s.key === key)?.fallback();
  if (typeof value === "boolean") return value ? "on" : "off";
  if (value === null) return key === "work" ? "none" : "off";
  if (key === "maxBody" || key === "maxMessage") return `${Number(value) / 1024 ** 2}MiB`;
  return String(value);
}
