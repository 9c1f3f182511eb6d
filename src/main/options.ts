/**
 * start()'s options -> one validated Config: the keys are the settings' names as --print-config
 * and --config files have them (`drainTimeout`, `http`, `maxBody`), the values what a --config
 * file takes (a string, number or boolean, null for off), each through its flag's own parser and
 * the same rules between settings; a bad one throws the flag's error code. What differs from
 * the command line is only what a library inside another program needs: every port picked by
 * the system, no admin port, no log lines, unless asked for.
 */
import { EchoplexError } from "../errors.ts";
import { type Config, SETTINGS, settled } from "./config.ts";
import { jsonValue } from "./config-file.ts";

/** start()'s options: any setting, by its --print-config name. */
export type StartOptions = { readonly [K in keyof Config]?: string | number | boolean | null };

/** A library's defaults where the command line's do not fit inside another program. */
const LIBRARY_DEFAULTS: Partial<Config> = { port: 0, admin: null, logLevel: "silent" };

const known = (): string => SETTINGS.map((s) => s.key).join(", ");

export function configFromOptions(options: StartOptions): Config {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new EchoplexError("ECHOPLEX_BAD_FLAG", "start(): options must be an object");
  const keys = new Set<string>(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(options))
    if (!keys.has(key))
      throw new EchoplexError(
        "ECHOPLEX_UNKNOWN_FLAG",
        `start(): unknown option '${key}'; known: ${known()}`,
      );
  const fail = (message: string) => new EchoplexError("ECHOPLEX_BAD_FLAG", message);
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = (options as Record<string, unknown>)[s.key];
    if (value !== undefined) config[s.key] = jsonValue(s, value, `start({ ${s.key} })`, fail);
    else if (s.key in LIBRARY_DEFAULTS) config[s.key] = LIBRARY_DEFAULTS[s.key];
    else config[s.key] = s.fallback();
  }
  return settled(config as unknown as Config);
}
