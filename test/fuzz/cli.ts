/**
 * npm run fuzz -- --seconds N [--seed S] [--surface http,tls,...]: every surface of test/fuzz for
 * a share of N seconds, each against a fresh server. Prints the cases run per surface and, for a
 * failure, the seed, the path and the case that replay it (then exit 1).
 */
import fc from "fast-check";
import { number, parseFlags, runMain, text } from "../../src/args.ts";
import { EchoplexError } from "../../src/errors.ts";
import { serve } from "../helpers/server.ts";
import { configCases, parseCase, roundTrips, startsOrRefuses, withTempDir } from "./config.ts";
import { differ } from "./differential.ts";
import { fuzz, type Surface } from "./surface.ts";
import { SURFACES } from "./surfaces.ts";
import { MAX_MESSAGE } from "./websocket.ts";
import { wsFastStreams } from "./websocket-fast.ts";

const NAMES = [...SURFACES.map((s) => s.name), "config", "http-fast", "ws-fast"];

const flags = parseFlags(
  "npm run fuzz --",
  {
    seconds: number(1, 86_400, 60, "seconds in all, shared evenly by the surfaces"),
    seed: number(0, 2 ** 31 - 1, Math.floor(Math.random() * 2 ** 31), "fast-check seed"),
    surface: text(NAMES.join(","), `comma-separated, of: ${NAMES.join(", ")}`),
  },
  process.argv.slice(2),
);

async function config(ms: number, seed: number): Promise<number> {
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(configCases, async (c) => {
      cases++;
      const result = withTempDir((dir) => parseCase(c, dir));
      if (result === null || result instanceof EchoplexError) return;
      if (!withTempDir((dir) => roundTrips(result, dir))) throw new Error("does not read back");
      await startsOrRefuses(result);
    }),
    { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: ms, endOnFailure: true },
  );
  return cases;
}

/**
 * A fast path against the path it stands in front of (differential.ts), for `ms`: HTTP's against
 * node:http's, or WebSocket's against ws's.
 */
async function fastPath(ms: number, seed: number, ws: boolean): Promise<number> {
  const cleanups: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => cleanups.push(fn) };
  try {
    const args = ["--mode", "single", "--http", "0", "--admin", "0"];
    if (ws) args.push("--max-message", String(MAX_MESSAGE));
    const fast = await serve(t, args);
    const slow = await serve(t, [...args, "--http-fast-path", "off"]);
    return (await differ(fast, slow, { seed, ms, ...(ws ? { streams: wsFastStreams } : {}) }))
      .requests;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

async function one(surface: Surface<never>, ms: number, seed: number): Promise<number> {
  const cleanups: (() => unknown)[] = [];
  try {
    return (await fuzz({ after: (fn) => cleanups.push(fn) }, surface, { seed, ms })).cases;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

runMain("npm run fuzz", async () => {
  const chosen = flags.surface.split(",");
  for (const name of chosen) {
    if (!NAMES.includes(name)) {
      throw new EchoplexError(
        "ECHOPLEX_BAD_FLAG",
        `--surface: '${name}' is not one of ${NAMES.join(", ")}`,
      );
    }
  }
  const ms = (flags.seconds * 1000) / chosen.length;
  process.stdout.write(`fuzz: seed ${flags.seed}, ${flags.seconds} s over ${chosen.join(", ")}\n`);
  let failed = 0;
  for (const name of chosen) {
    const surface = SURFACES.find((s) => s.name === name);
    const started = Date.now();
    try {
      const cases =
        name === "http-fast" || name === "ws-fast"
          ? await fastPath(ms, flags.seed, name === "ws-fast")
          : surface === undefined
            ? await config(ms, flags.seed)
            : await one(surface, ms, flags.seed);
      process.stdout.write(
        `${name}: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, no failure\n`,
      );
    } catch (err) {
      failed++;
      process.stdout.write(
        `${name}: FAILED (replay: npm run fuzz -- --surface ${name} --seed ${flags.seed})\n${(err as Error).message}\n${String((err as Error).cause ?? "")}\n`,
      );
    }
  }
  if (failed > 0) process.exit(1);
});
