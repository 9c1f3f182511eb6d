/**
 * Flags and ECHOPLEX_* variables -> one validated Config. Every setting is declared once in
 * SETTINGS (name, variable, default, parser, help), so parsing, validation, --help and the
 * README's flag table cannot drift apart.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { EchoplexError } from "../errors.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";

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
}

interface Setting<K extends keyof Config> {
  readonly key: K;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly fallback: () => Config[K];
  readonly parse: (raw: string, source: string) => Config[K];
}

function bad(source: string, raw: string, allowed: string): EchoplexError {
  return new EchoplexError(
    "ECHOPLEX_BAD_FLAG",
    `${source}: '${raw}' is not allowed; expected ${allowed}`,
  );
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string, source: string): T => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    throw bad(source, raw, `one of ${values.join(", ")}`);
  };
}

function integer(min: number, max: number) {
  return (raw: string, source: string): number => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw bad(source, raw, `an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function seconds(raw: string, source: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 86_400) {
    throw bad(source, raw, "a number of seconds from 0 to 86400");
  }
  return n;
}

function host(raw: string, source: string): string {
  if (raw.trim() === "" || /\s/.test(raw)) throw bad(source, raw, "an IP address or host name");
  return raw;
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
    parse: (raw, source) => oneOf(["on", "off"] as const)(raw, source) === "on",
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
    help: "TCP echo port; 0 picks a free one",
    fallback: () => 7007,
    parse: integer(0, 65_535),
  }),
  setting({
    key: "drainTimeout",
    flag: "drain-timeout",
    env: "ECHOPLEX_DRAIN_TIMEOUT",
    help: "seconds open connections may finish after SIGTERM/SIGINT",
    fallback: () => 10,
    parse: seconds,
  }),
  setting({
    key: "logLevel",
    flag: "log-level",
    env: "ECHOPLEX_LOG_LEVEL",
    help: "JSON log level on stdout",
    fallback: () => "info",
    parse: oneOf(LOG_LEVELS),
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
  return {
    kind: "run",
    config: resolved.mode === "single" ? { ...resolved, workers: 1 } : resolved,
  };
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
    `echoplex ${version}: a TCP echo server (RFC 862) that scales over cores`,
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
  if (key === "spill") return "on";
  return key === "workers"
    ? "available parallelism"
    : String(SETTINGS.find((s) => s.key === key)?.fallback());
}
