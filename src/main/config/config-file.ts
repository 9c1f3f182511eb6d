/**
 * --config FILE: a JSON object whose keys are the settings' names as `--print-config` prints
 * them (`"drainTimeout": 5`, `"http": 8080`, `"work": "sha256:40"`, `null` for off). Each value
 * goes through the same parser as its flag; anything wrong is one line naming the file, the key
 * and what is allowed (ECHOPLEX_BAD_CONFIG, exit 2).
 */
import { readFileSync } from "node:fs";
import { EchoplexError, fail } from "../../errors.ts";
import type { Config } from "./config.ts";
import { SETTINGS } from "./settings.ts";

function bad(file: string, problem: string): EchoplexError {
  return fail("ECHOPLEX_BAD_CONFIG", { file, problem });
}

/** The file's keys and values, every key a known setting. */
export function readConfigFile(file: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw bad(file, `cannot read it (${reason})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(file, `not JSON (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw bad(file, 'expected a JSON object of settings, like {"port": 7007}');
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(json)) {
    if (!known.has(key)) {
      throw bad(file, `unknown key '${key}'; known keys: ${[...known].join(", ")}`);
    }
  }
  return new Map(Object.entries(json));
}

interface Parsed<K extends keyof Config> {
  readonly key: K;
  readonly fallback: () => Config[K];
  readonly parse: (raw: string, source: string) => Config[K];
}

/** One value from the file, through its setting's parser. */
export function fileValue<K extends keyof Config>(
  setting: Parsed<K>,
  value: unknown,
  file: string,
): Config[K] {
  return jsonValue(setting, value, `--config ${file}: ${setting.key}`, (problem) =>
    bad(file, `${setting.key}: ${problem}`),
  );
}

/**
 * A JSON value (a string, number, boolean, or null for off) through its setting's parser; what
 * is wrong is `refuse`'s error (ECHOPLEX_BAD_CONFIG from a file, ECHOPLEX_BAD_OPTION from start()).
 */
export function jsonValue<K extends keyof Config>(
  setting: Parsed<K>,
  value: unknown,
  where: string,
  refuse: (problem: string) => EchoplexError,
): Config[K] {
  if (value === null) {
    // null is "off", for the settings that can be off (what --print-config prints for them).
    if (setting.fallback() === null || canBeOff(setting)) return null as Config[K];
    throw refuse("null is not allowed; this setting cannot be off");
  }
  let raw: string;
  if (typeof value === "string") raw = value;
  else if (typeof value === "number" && Number.isFinite(value)) raw = String(value);
  else if (typeof value === "boolean") raw = value ? "on" : "off";
  else throw refuse(`expected a string, number, boolean or null, got ${JSON.stringify(value)}`);
  try {
    return setting.parse(raw, where);
  } catch (err) {
    if (!(err instanceof EchoplexError)) throw err;
    const prefix = `${where}: `; // the parser's line names `where` first: say it once
    throw refuse(err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message);
  }
}

/** Does the setting take "off" for null (--admin off, say, whose default is a port)? */
function canBeOff(setting: { readonly parse: (raw: string, source: string) => unknown }): boolean {
  try {
    return setting.parse("off", "") === null;
  } catch {
    return false;
  }
}

/** The configuration as a --config file would say it (what --print-config prints). */
export function asFile(config: Config): Record<string, unknown> {
  const { work } = config;
  return { ...config, work: work === null ? null : `${work.algorithm}:${work.rounds}` };
}
