/**
 * `import { load } from "echoplex/load"`: the load client as a function. The options are the
 * flags of `echoplex-load`, in camelCase, checked by the same parsers (a bad one rejects with
 * the flag's error code); the result is the report `--json` prints. A report whose echoes
 * differed resolves like any other (read `mismatches`); what kept the run from measuring
 * anything rejects: ECHOPLEX_CONNECT_FAILED, ECHOPLEX_TLS_FAILED, ECHOPLEX_BAD_FLAG.
 */
import { parseFlags } from "../args.ts";
import { asOptionError, fail } from "../errors.ts";
import { checkNode } from "../node-version.ts";
import { LOAD_FLAGS } from "./flags.ts";
import { checked, type LoadFlags, measure, nothingEchoed } from "./measure.ts";
import type { LoadReport } from "./run.ts";

export type { LoadReport, Protocol } from "./run.ts";

export interface LoadOptions {
  /** The echo server's port (TCP, or the HTTP port for ws, http and http2). */
  readonly port: number;
  readonly host?: string;
  readonly protocol?: "tcp" | "ws" | "udp" | "http" | "http2";
  readonly tls?: boolean;
  /** With tls: do not check the server's certificate. */
  readonly insecure?: boolean;
  readonly connections?: number;
  /** Bytes per message. */
  readonly size?: number;
  /** Seconds measured, after `warmup` seconds of load. */
  readonly duration?: number;
  readonly warmup?: number;
  /** Messages in flight per connection (closed loop). */
  readonly pipeline?: number;
  /** Open loop: messages per second in all (0: closed loop); `"A..B"` or `"A..B:STEPS"` ramps. */
  readonly rate?: number | string;
  /** Seconds per row of `intervals` in the report (0: none). */
  readonly interval?: number;
  /** Connect, one round trip, close, again (TCP). */
  readonly churn?: boolean;
  readonly threads?: number;
  /** Seconds a reply may take before it counts as a timeout. */
  readonly timeout?: number;
  /** Start at this time (ISO 8601 or epoch ms), as several clients on several hosts do. */
  readonly at?: string | number;
}

/** The report `echoplex-load --json` prints (no histogram). */
export type LoadResult = Omit<LoadReport, "histogram">;

/** What only the command line does: where to write, and how to print. */
const COMMAND_ONLY = new Set(["json", "save", "http", "slo"]);

/** The options as the command's arguments, so that they go through the flags' own parsers. */
function asArgv(options: LoadOptions): string[] {
  const argv: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (!(flag in LOAD_FLAGS) || COMMAND_ONLY.has(flag))
      throw fail("ECHOPLEX_BAD_OPTION", {
        subject: "load()",
        problem: `unknown option '${key}'; known: ${Object.keys(LOAD_FLAGS)
          .filter((k) => !COMMAND_ONLY.has(k))
          .join(", ")}`,
      });
    if (typeof value === "boolean") {
      if (value) argv.push(`--${flag}`);
    } else argv.push(`--${flag}`, String(value));
  }
  return argv;
}

/** The options as checked flags, or the usage error load() rejects with (fuzzed by the tests). */
export function loadFlags(options: LoadOptions): LoadFlags {
  if (typeof options !== "object" || options === null || options.port === undefined)
    throw fail("ECHOPLEX_BAD_OPTION", { subject: "load()", problem: "give at least { port }" });
  try {
    const f = parseFlags("load()", LOAD_FLAGS, asArgv(options));
    checked(f);
    return f;
  } catch (err) {
    throw asOptionError(err, "load()");
  }
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  checkNode();
  const f = loadFlags(options);
  const report = await measure(f);
  const nothing = nothingEchoed(report, f);
  if (nothing !== null) throw nothing;
  const { histogram: _, ...shown } = report;
  return shown;
}
