/**
 * `echoplex-load merge a.json b.json ... [--json]` (`npm run load:merge -- ...`): one report from
 * the reports that load clients on several hosts saved with `--save FILE` (see docs/DEPLOY.md).
 */
import { readFileSync } from "node:fs";
import { fail } from "../../errors.ts";
import { formatReport } from "../format.ts";
import type { LoadReport } from "../run.ts";
import { mergeReports } from "./merge.ts";

export function mergeMain(args: readonly string[]): void {
  const json = args.includes("--json");
  const files = args.filter((a) => a !== "--json");
  const unknown = files.find((f) => f.startsWith("--"));
  if (unknown !== undefined || files.length === 0)
    throw unknown === undefined
      ? fail("ECHOPLEX_BAD_FLAG", {
          subject: "merge",
          problem: "give the report files to merge (saved with npm run load -- --save FILE)",
        })
      : fail("ECHOPLEX_UNKNOWN_FLAG", {
          flag: `Unknown option '${unknown}'`,
          known: "usage: echoplex-load merge FILE... [--json]",
        });
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
  const { histogram: _, ...shown } = merged;
  process.stdout.write(
    json
      ? `${JSON.stringify(shown)}\n`
      : `${merged.clients} clients merged${merged.latency_exact ? "" : " (latency: the worst client's percentiles, an upper bound: an HTTP report has no histogram)"}\n${formatReport(merged)}\n`,
  );
}
