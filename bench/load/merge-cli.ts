/**
 * `npm run load:merge -- a.json b.json ... [--json]`: one report from the reports that load
 * clients on several hosts saved with `npm run load -- --save FILE` (see docs/DEPLOY.md).
 */
import { readFileSync } from "node:fs";
import { EchoplexError } from "../../src/errors.ts";
import { runMain } from "../lib/args.ts";
import { formatReport } from "./format.ts";
import { mergeReports } from "./merge.ts";
import type { LoadReport } from "./run.ts";

const COMMAND = "echoplex-load-merge";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const files = args.filter((a) => a !== "--json");
  const unknown = files.find((f) => f.startsWith("--"));
  if (unknown !== undefined || files.length === 0)
    throw new EchoplexError(
      "ECHOPLEX_BAD_FLAG",
      unknown === undefined
        ? "give the report files to merge (saved with npm run load -- --save FILE)"
        : `unknown flag ${unknown}; usage: load:merge FILE... [--json]`,
    );
  const reports = files.map((file) => {
    try {
      const r = JSON.parse(readFileSync(file, "utf8")) as LoadReport;
      if (typeof r.histogram !== "string" || r.histogram === "") throw new Error("no histogram");
      return r;
    } catch (err) {
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `${file} is not a report saved by npm run load -- --save (${(err as Error).message})`,
      );
    }
  });
  const merged = mergeReports(reports);
  const { histogram: _, ...shown } = merged;
  process.stdout.write(
    json
      ? `${JSON.stringify(shown)}\n`
      : `${merged.clients} clients merged\n${formatReport(merged)}\n`,
  );
}

runMain(COMMAND, main);
