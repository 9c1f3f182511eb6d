/**
 * Every port fuzzed (test/fuzz): generated and mutated inputs, a fixed seed, bounded. Each case
 * is answered or closed, and the worker that served it lives on with no internal error; every
 * generated configuration is refused with a usage code or means what it says. `npm run fuzz`
 * runs the same surfaces for longer with any seed.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EchoplexError } from "../src/errors.ts";
import { type Config, parseCommand } from "../src/main/config/config.ts";
import { configCases, parseCase, roundTrips, startsOrRefuses, withTempDir } from "./fuzz/config.ts";
import { fuzz } from "./fuzz/surface.ts";
import { SURFACES } from "./fuzz/surfaces.ts";

export const SEED = 20261201;
export const RUNS: Readonly<Record<string, number>> = {
  http: 3000,
  websocket: 2000,
  "faults-below-http": 600,
  h2c: 1500,
  "h2-tls": 1000,
  "response-control": 600,
  proxy: 1000,
  tls: 1500,
  admin: 1000,
  udp: 1000,
  config: 3000,
  httpbin: 300,
};

describe("fuzz: no generated input ends a process", () => {
  for (const surface of SURFACES) {
    it(`${surface.name}: ${RUNS[surface.name]} cases (seed ${SEED})`, async (t) => {
      const { cases } = await fuzz(t, surface, { seed: SEED, numRuns: RUNS[surface.name] ?? 100 });
      t.diagnostic(`${cases} cases`);
    });
  }

  it(`config: ${RUNS.config} flag, variable and file combinations (seed ${SEED})`, () => {
    let refused = 0;
    withTempDir((dir) =>
      fc.assert(
        fc.property(configCases, (c) => {
          const result = parseCase(c, dir);
          if (result instanceof EchoplexError) refused++;
          else if (result !== null)
            assert.ok(roundTrips(result, dir), "prints and reads back the same");
        }),
        { seed: SEED, numRuns: RUNS.config as number },
      ),
    );
    assert.ok(
      refused > 0 && refused < (RUNS.config as number),
      `${refused} refused: both kinds reached`,
    );
  });

  it(`config: 100 accepted configurations start the single loop, or fail with a code (seed ${SEED})`, async (t) => {
    let started = 0;
    const accepted = configCases
      .map((c) => withTempDir((dir) => parseCase(c, dir)))
      .filter((r) => r !== null && !(r instanceof EchoplexError));
    await fc.assert(
      fc.asyncProperty(accepted, async (config) => {
        await startsOrRefuses(config as Config);
        started++;
      }),
      { seed: SEED, numRuns: 100 },
    );
    t.diagnostic(`${started} configurations started and stopped`);
  });

  it("config: a generated relative --access-log is not made in the working directory (regression: npm run fuzz left 77 files in the checkout)", async (t) => {
    const name = `echoplex-fuzz-${process.pid}.log`;
    t.after(() => rmSync(name, { force: true }));
    const command = parseCommand(["--access-log", name], {});
    assert.equal(command.kind, "run");
    if (command.kind === "run") await startsOrRefuses(command.config);
    assert.equal(existsSync(name), false);
  });
});
