/**
 * `echoplex-load merge a.json b.json ... [--json] [--slo SPEC]` (`npm run load:merge -- ...`): one
 * report from the reports that load clients on several hosts saved with `--save FILE` (see
 * docs/DEPLOY.md); with --slo, exit 1 with a one-line reason when the merged run breaks it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../../errors.ts";
import { formatReport } from "../format.ts";
import type { LoadReport } from "../run.ts";
import { formatRow, shownRow } from "./intervals.ts";
import { mergeReports } from "./merge.ts";
import { breaches, parseSlo, type Slo } from "./slo.ts";

const USAGE = "usage: echoplex-load merge FILE|DIR... [--json] [--slo p99=5ms,errors=0]";

/** The report files, --json, and --slo SPEC (or --slo=SPEC), or a usage error. */
export function mergeArgs(args: readonly string[]): {
  files: string[];
  json: boolean;
  slo: Slo | null;
} {
  const files: string[] = [];
  let json = false;
  let slo: Slo | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--json") json = true;
    else if (a === "--slo" || a.startsWith("--slo=")) {
      const text = a === "--slo" ? args[++i] : a.slice("--slo=".length);
      const parsed = text === undefined ? "give it a spec, as p99=5ms,errors=0" : parseSlo(text);
      if (typeof parsed === "string")
        throw fail("ECHOPLEX_BAD_FLAG", { subject: "--slo", problem: parsed });
      slo = parsed;
    } else if (a.startsWith("--"))
      throw fail("ECHOPLEX_UNKNOWN_FLAG", { flag: `Unknown option '${a}'`, known: USAGE });
    else files.push(a);
  }
  if (files.length === 0)
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: "merge",
      problem: "give the report files to merge (saved with npm run load -- --save FILE)",
    });
  return { files, json, slo };
}

/** The report files: a directory stands for the .json files in it (a Job's shared volume). */
function expand(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      return [p]; // reading it says what is wrong
    }
    if (!dir) return [p];
    const found = readdirSync(p)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => join(p, f));
    if (found.length === 0)
      throw fail("ECHOPLEX_BAD_FLAG", {
        subject: p,
        problem: "a directory with no .json report in it",
      });
    return found;
  });
}

export function mergeMain(args: readonly string[]): void {
  const parsed = mergeArgs(args);
  const { json, slo } = parsed;
  const files = expand(parsed.files);
  const reports = files.map((file) => {
    try {
      const r = JSON.parse(readFileSync(file, "utf8")) as LoadReport;
      // An HTTP run's report (autocannon's latency) has an empty histogram: still a report.
      if (typeof r.histogram !== "string" || typeof r.msgs_per_s !== "number")
        throw new Error("no load report in it");
      return r;
    } catch (err) {
      throw fail("ECHOPLEX_BAD_FLAG", {
        subject: file,
        problem: `not a report saved by npm run load -- --save (${(err as Error).message})`,
      });
    }
  });
  const merged = mergeReports(reports);
  const { histogram: _, intervals, ...rest } = merged;
  const shown = intervals === undefined ? rest : { ...rest, intervals: intervals.map(shownRow) };
  process.stdout.write(
    json
      ? `${JSON.stringify(shown)}\n`
      : `${merged.clients} clients merged${merged.latency_exact ? "" : " (latency: the worst client's percentiles, an upper bound: an HTTP report has no histogram)"}\n${(intervals ?? []).map((r) => `${formatRow(r)}\n`).join("")}${formatReport(merged)}\n`,
  );
  const missed = slo === null ? [] : breaches(merged, slo);
  if (slo !== null && missed.length > 0)
    throw fail("ECHOPLEX_SLO_BROKEN", { slo: slo.text, breaches: missed.join(", ") });
}
