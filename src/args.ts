/**
 * Flags for the load client and the bench commands (load, bench, micro), with the server's error codes: a flag that
 * is unknown or has a bad value is one line on stderr and exit 2, never a stack trace.
 */
import { parseArgs } from "node:util";
import { argsError, EchoplexError, USAGE_ERRORS } from "./errors.ts";
import { bad as badValue } from "./main/config/parse.ts";

export interface Flag<T> {
  readonly help: string;
  readonly fallback: T;
  readonly parse: (raw: string, flag: string) => T;
  /** Takes no value. */
  readonly boolean?: true;
}
export type Flags = Record<string, Flag<unknown>>;
export type Values<F extends Flags> = {
  -readonly [K in keyof F]: F[K] extends Flag<infer T> ? T : never;
};

/** The server's own one-line usage error, for a bench flag. */
function bad(flag: string, raw: string, expected: string): EchoplexError {
  return badValue(`--${flag}`, raw, expected);
}

export const number = (
  min: number,
  max: number,
  fallback: number,
  help: string,
  integer = true,
): Flag<number> => ({
  help,
  fallback,
  parse(raw, flag) {
    const n = Number(raw);
    if (
      raw.trim() === "" ||
      !Number.isFinite(n) ||
      (integer && !Number.isInteger(n)) ||
      n < min ||
      n > max
    )
      throw bad(flag, raw, `${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    return n;
  },
});

export const text = (
  fallback: string,
  help: string,
  allowed?: readonly string[],
): Flag<string> => ({
  help,
  fallback,
  parse(raw, flag) {
    if (allowed !== undefined && !allowed.includes(raw))
      throw bad(flag, raw, `one of ${allowed.join(", ")}`);
    if (raw.trim() === "") throw bad(flag, raw, "a value");
    return raw;
  },
});

/** A flag without a value. */
export const toggle = (help: string): Flag<boolean> => ({
  help,
  fallback: false,
  parse: () => true,
  boolean: true,
});

/** Parse argv against `flags`; `--help` prints usage and exits 0. */
export function parseFlags<F extends Flags>(
  command: string,
  flags: F,
  argv: readonly string[],
): Values<F> {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [name, f] of Object.entries(flags))
    options[name] = { type: f.boolean ? "boolean" : "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw argsError(err as NodeJS.ErrnoException, `see ${command} --help`);
  }
  if (values.help === true) {
    const lines = [`usage: ${command} [flags]`, ""];
    for (const [name, f] of Object.entries(flags))
      lines.push(
        `  --${name.padEnd(14)} ${f.help}${f.fallback === false || f.fallback === "" ? "" : ` (default: ${String(f.fallback)})`}`,
      );
    process.stdout.write(`${lines.join("\n")}\n`);
    process.exit(0);
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) {
    const raw = values[name];
    out[name] =
      raw === undefined ? f.fallback : typeof raw === "boolean" ? true : f.parse(raw, name);
  }
  return out as Values<F>;
}

/** Run a bench command's main: expected failures are one line with their code. */
export function runMain(command: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof EchoplexError) {
      process.stderr.write(`${command}: ${err.message} [${err.code}]\n`);
      process.exit(USAGE_ERRORS.has(err.code) ? 2 : 1);
    }
    process.stderr.write(`${command}: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
