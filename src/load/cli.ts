#!/usr/bin/env node
/**
 * The `echoplex-load` command (`npm run load -- ...`): the echo load client on its own, against
 * any echo server; `echoplex-load merge FILE...` merges reports saved on several hosts.
 *
 *   echoplex-load --port P [--host H] [--protocol tcp|ws|udp|http|http2] [--tls [--insecure]]
 *                 [--connections C] [--size S] [--duration SECONDS]
 *                 [--pipeline N | --rate MSGS_PER_S[..END[:STEPS]] | --churn] [--interval S]
 *                 [--threads T] [--json] [--save FILE] [--at TIME]
 *
 * Prints a short report; with --json the last line of stdout is one JSON object. Exit 0 when
 * every echoed byte matched, 1 when a byte differed (ECHOPLEX_ECHO_MISMATCH), no connection
 * could be made (ECHOPLEX_CONNECT_FAILED) or TLS failed (ECHOPLEX_TLS_FAILED), 2 for a bad flag.
 */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { parseFlags, runMain } from "../args.ts";
import { fail } from "../errors.ts";
import { checkNode } from "../node-version.ts";
import type { StepRow } from "./capacity.ts";
import { LOAD_FLAGS } from "./flags.ts";
import { formatCapacity, formatReport, formatStep } from "./format.ts";
import { type LoadFlags, measure, measureCapacity, nothingEchoed } from "./measure.ts";
import { formatRow, type IntervalRow, shownRow } from "./report/intervals.ts";
import { mergeMain } from "./report/merge-cli.ts";
import type { LoadReport } from "./run.ts";

const COMMAND = "echoplex-load";

async function main(): Promise<void> {
  checkNode();
  const argv = process.argv.slice(2);
  if (argv[0] === "merge") return mergeMain(argv.slice(1));
  if (argv.includes("--help"))
    process.stdout.write(
      `${COMMAND} merge FILE... [--json] [--slo p99=5ms,errors=0]: one report from reports saved with --save on several hosts; exit 1 when it breaks the SLO\n`,
    );
  const f = parseFlags(COMMAND, LOAD_FLAGS, argv);
  if (f.save !== "") writable(f.save);
  if (f.slo !== "") return capacityMain(f);
  // --interval: a row per interval as it ends (a JSON object per line with --json), then the report.
  // On a terminal without --interval or --json: a live line on stderr, a second at a time, that
  // the report replaces (its rows are not kept).
  const live = f.interval === 0 && !f.json && process.stderr.isTTY === true && liveCapable(f);
  const interval = (row: IntervalRow) => {
    if (live) process.stderr.write(`\r\x1b[K${formatRow(row).trim()}`);
    else
      process.stdout.write(f.json ? `${JSON.stringify(shownRow(row))}\n` : `${formatRow(row)}\n`);
  };
  const measured = await measure(live ? { ...f, interval: 1 } : f, { interval });
  if (live) process.stderr.write("\r\x1b[K");
  const { intervals: _rows, ...unsliced } = measured;
  const report: LoadReport = live ? unsliced : measured;
  if (f.save !== "") writeFileSync(f.save, `${JSON.stringify(report)}\n`);
  const { histogram: _, intervals, ...rest } = report;
  const shown = intervals === undefined ? rest : { ...rest, intervals: intervals.map(shownRow) };
  process.stdout.write(f.json ? `${JSON.stringify(shown)}\n` : `${formatReport(report)}\n`);
  if (report.mismatches > 0) throw fail("ECHOPLEX_ECHO_MISMATCH", { streams: report.mismatches });
  const nothing = nothingEchoed(report, f);
  if (nothing !== null) throw nothing;
}

/** The live line needs rows, which the client's own protocols give (autocannon's does not). */
function liveCapable(f: LoadFlags): boolean {
  return !f.http && f.protocol !== "http" && f.duration > 1;
}

/** --save FILE can be written: found out before the run, not after it. */
function writable(file: string): void {
  try {
    closeSync(openSync(file, "a"));
  } catch (err) {
    throw fail("ECHOPLEX_BAD_FLAG", {
      subject: `--save ${file}`,
      problem: `cannot write it (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a file in a directory that exists`,
    });
  }
}

/** --slo: a line (or JSON object) per step as it ends, then the capacity found. */
async function capacityMain(f: LoadFlags): Promise<void> {
  const unit = f.churn ? "conn/s" : "msg/s"; // --churn: the search offers new connections a second
  const step = (s: StepRow) =>
    process.stdout.write(f.json ? `${JSON.stringify(s)}\n` : `${formatStep(s, unit)}\n`);
  const report = await measureCapacity(f, step);
  if (f.save !== "") writeFileSync(f.save, `${JSON.stringify(report)}\n`);
  process.stdout.write(
    f.json ? `${JSON.stringify(report)}\n` : `${formatCapacity(report, unit)}\n`,
  );
}

runMain(COMMAND, main);
