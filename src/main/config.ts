/**
 * Flags and ECHOPLEX_* variables -> one validated Config: each setting from settings.ts, then the
 * rules between settings; and --help from the same table.
 */
import { parseArgs } from "node:util";
import { EchoplexError } from "../errors.ts";
import type { LogLevel } from "../log.ts";
import type { WorkSpec } from "../messages.ts";
import { loadTls } from "../tls.ts";
import { fileValue, readConfigFile } from "./config-file.ts";
import { type Balance, MODES, type Mode, SETTINGS } from "./settings.ts";

export { BALANCES, type Balance, MODES, type Mode, SETTINGS } from "./settings.ts";

export interface Config {
  readonly mode: Mode;
  readonly workers: number;
  readonly balance: Balance;
  /** handoff: lend workers the listener while connections arrive faster than handles pass. */
  readonly spill: boolean;
  readonly host: string;
  readonly port: number;
  /** Listen backlog of every TCP listener. */
  readonly backlog: number;
  /** Connections the server holds open at once, split evenly over its loops; 0: no cap. */
  readonly maxConnections: number;
  /** Seconds of silence after which a connection is closed; 0: never. */
  readonly idleTimeout: number;
  /** Admin HTTP port (/healthz, /readyz), or null when off. */
  readonly admin: number | null;
  readonly adminHost: string;
  /** Seconds open connections may take to finish after SIGTERM/SIGINT. */
  readonly drainTimeout: number;
  /** Seconds a worker may take to become ready before it is killed and its start fails. */
  readonly startTimeout: number;
  readonly logLevel: LogLevel;
  /** HTTP/1.1 echo (and WebSocket on /ws) port, or null when off. */
  readonly http: number | null;
  /** UDP echo port, or null when off. */
  readonly udp: number | null;
  readonly udpRate: number;
  readonly maxBody: number;
  /** Bytes of HTTP bodies and unsent answers the server holds at once, split over its loops. */
  readonly httpBuffer: number;
  /** Seconds a TLS client may take to finish its handshake. */
  readonly handshakeTimeout: number;
  readonly maxMessage: number;
  /** Seconds a request may take to send its headers. */
  readonly headerTimeout: number;
  readonly wsCompression: boolean;
  readonly httpFastPath: boolean;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly work: WorkSpec | null;
  readonly offload: number;
}

export type Command =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "print-config"; readonly config: Config }
  | { readonly kind: "run"; readonly config: Config };

/**
 * Flags win over the environment, which wins over the --config file, which wins over defaults.
 * Throws EchoplexError on bad input.
 */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
    config: { type: "string" },
    "print-config": { type: "boolean" },
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

  const configFile =
    typeof values.config === "string" ? values.config : env.ECHOPLEX_CONFIG || undefined;
  const file = configFile === undefined ? new Map<string, unknown>() : readConfigFile(configFile);
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flag = values[s.flag];
    const fromEnv = env[s.env];
    if (typeof flag === "string") config[s.key] = s.parse(flag, `--${s.flag}`);
    else if (fromEnv !== undefined && fromEnv !== "") config[s.key] = s.parse(fromEnv, s.env);
    else if (file.has(s.key)) config[s.key] = fileValue(s, file.get(s.key), configFile as string);
    else config[s.key] = s.fallback();
  }
  const resolved = config as unknown as Config;
  validate(resolved);
  const effective = resolved.mode === "single" ? { ...resolved, workers: 1 } : resolved;
  return { kind: values["print-config"] === true ? "print-config" : "run", config: effective };
}

/** Rules between settings; TLS files are read and checked here, so a bad one stops the start. */
function validate(c: Config): void {
  const usage = (message: string) => new EchoplexError("ECHOPLEX_BAD_FLAG", message);
  if (c.offload > 0 && c.work === null) {
    throw usage("--offload needs CPU work to offload: add --work sha256:ROUNDS");
  }
  const tcp = [
    ["--port", c.port],
    ["--http", c.http],
    ["--admin", c.admin],
  ] as const;
  for (const [i, [flag, port]] of tcp.entries()) {
    for (const [other, otherPort] of tcp.slice(i + 1)) {
      if (port !== null && port !== 0 && port === otherPort) {
        throw usage(`${flag} and ${other} must differ (both are ${port}); 0 picks a free one`);
      }
    }
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
      `${detail.replace(/\. .*$/, "")}; known flags: ${known}, --config, --print-config, --help, --version`,
    );
  }
  // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a flag without its value, or a value given to a boolean.
  return new EchoplexError("ECHOPLEX_BAD_FLAG", detail);
}

export function helpText(version: string): string {
  const lines = [
    `echoplex ${version}: an echo server (RFC 862 TCP and UDP, HTTP/1.1, WebSocket) that scales over cores`,
    "",
    "usage: echoplex [flags]   (flags > ECHOPLEX_* variables > --config file > defaults)",
    "",
  ];
  for (const s of SETTINGS) {
    lines.push(`  --${s.flag.padEnd(15)} ${s.help} [${s.env}, default: ${describeDefault(s.key)}]`);
  }
  lines.push(
    `  --${"config".padEnd(15)} a JSON file of settings, keys as --print-config shows them [ECHOPLEX_CONFIG]`,
    `  --${"print-config".padEnd(15)} print the effective configuration as JSON and exit`,
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
  if (key === "maxBody" || key === "maxMessage" || key === "httpBuffer")
    return `${Number(value) / 1024 ** 2}MiB`;
  return String(value);
}
