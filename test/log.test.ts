/**
 * The log: a worker's logger loads pino only when it first writes a line (an idle worker does not
 * hold it), and then writes what createLogger writes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";

const LOG = new URL("../src/log.ts", import.meta.url).href;

it("lazyLogger: calls below its level load nothing; the first line loads pino and is written with its bindings", () => {
  const script = `
    import { createRequire } from "node:module";
    import { lazyLogger } from ${JSON.stringify(LOG)};
    const require = createRequire(import.meta.url);
    const pinoLoaded = () => Object.keys(require.cache).some((k) => k.includes("/node_modules/pino/"));
    const log = lazyLogger("info", { worker: 3 });
    log.debug({ a: 1 }, "below");
    log.trace("below");
    const before = pinoLoaded();
    log.info({ a: 2 }, "written");
    log.warn("also written");
    process.stderr.write(JSON.stringify({ before, after: pinoLoaded(), level: log.level }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stderr), { before: false, after: true, level: "info" });
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.worker, l.a, l.level]),
    [
      ["written", 3, 2, 30],
      ["also written", 3, undefined, 40],
    ],
  );
  assert.equal(typeof lines[0].pid, "number");
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT/);
});

it("lazyLogger at silent writes nothing and never loads pino for a level call", () => {
  const script = `
    import { createRequire } from "node:module";
    import { lazyLogger } from ${JSON.stringify(LOG)};
    const require = createRequire(import.meta.url);
    const log = lazyLogger("silent");
    for (const level of ["trace", "debug", "info", "warn", "error", "fatal"]) log[level]("x");
    process.stderr.write(String(Object.keys(require.cache).some((k) => k.includes("/node_modules/pino/"))));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "false");
  assert.equal(r.stdout, "");
});
