/**
 * start()'s options -> one validated Config: the keys are the settings' names as --print-config
 * and --config files have them (`drainTimeout`, `http`, `maxBody`), the values what a --config
 * file takes, typed from Config (a size also as "64KiB", work as "sha256:N"), each through its
 * flag's own parser and the same rules between settings; a bad one throws ECHOPLEX_BAD_OPTION. What differs from
 * the command line is only what a library inside another program needs: every port picked by
 * the system, no admin port, no log lines, unless asked for.
 */
import { asOptionError, fail } from "../../errors.ts";
import { type Config, SETTINGS, settled } from "./config.ts";
import { jsonValue } from "./config-file.ts";

/** Settings in bytes: a number, or a size as the flag takes it ("64KiB", "1.5MB"). */
type SizeKey = "maxBody" | "httpBuffer" | "maxMessage";

/**
 * start()'s options: any setting, by its --print-config name, of its Config type (the compiler
 * refuses `port: "x"` or `mode: "nope"`); sizes may be strings, and work is "sha256:N" or null.
 */
export type StartOptions = {
  readonly [K in keyof Config]?: K extends SizeKey
    ? number | string
    : K extends "work"
      ? string | null
      : Config[K];
};

/** A library's defaults where the command line's do not fit inside another program. */
const LIBRARY_DEFAULTS: Partial<Config> = { port: 0, admin: null, logLevel: "silent" };

const known = (): string => SETTINGS.map((s) => s.key).join(", ");

export function configFromOptions(options: StartOptions): Config {
  try {
    return fromOptions(options);
  } catch (err) {
    throw asOptionError(err, "start()");
  }
}

function fromOptions(options: StartOptions): Config {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw fail("ECHOPLEX_BAD_OPTION", { subject: "start()", problem: "options must be an object" });
  const keys = new Set<string>(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(options))
    if (!keys.has(key))
      throw fail("ECHOPLEX_BAD_OPTION", {
        subject: "start()",
        problem: `unknown option '${key}'; known: ${known()}`,
      });
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = (options as Record<string, unknown>)[s.key];
    const subject = `start({ ${s.key} })`;
    if (value !== undefined)
      config[s.key] = jsonValue(s, value, subject, (problem) =>
        fail("ECHOPLEX_BAD_OPTION", { subject, problem }),
      );
    else if (s.key in LIBRARY_DEFAULTS) config[s.key] = LIBRARY_DEFAULTS[s.key];
    else config[s.key] = s.fallback();
  }
  return settled(config as unknown as Config);
}
