/**
 * Every worker process runs with the V8 flags that keep its memory small, and none of the
 * caller's that say what to run (src/main/supervision/workers.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { WORKER_EXEC_ARGV, workerExecArgv } from "../src/main/supervision/workers.ts";
import { childPids, serve } from "./helpers/server.ts";

describe("worker V8 flags", () => {
  for (const mode of ["handoff", "cluster", "reuseport"]) {
    it(`every worker has them (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "2", "--admin", "off"]);
      const workers = childPids(server.pid);
      assert.equal(workers.length, 2);
      for (const pid of workers) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        for (const flag of WORKER_EXEC_ARGV) assert.ok(argv.includes(flag), `${flag}: ${argv}`);
      }
    });
  }
});

describe("a worker's flags come from the parent only where they shape how Node runs", () => {
  it("the caller's eval, print, test and watch flags stay with the caller; ours once", () => {
    const parent = [
      ...["--input-type=module", "--max-old-space-size=100", "-e", "import 'x'"],
      ...["--test", "--test-reporter=spec", "--watch-path", "src", "-p", "1", "--eval=2"],
      ...["--max-semi-space-size=2", "--require", "./hook.cjs", "--expose-gc"],
    ];
    assert.deepEqual(workerExecArgv(parent), [
      "--initial-old-space-size=4",
      "--max-old-space-size=100",
      "--max-semi-space-size=2",
      "--require",
      "./hook.cjs",
      "--expose-gc",
    ]);
    assert.deepEqual(workerExecArgv([]), [...WORKER_EXEC_ARGV]);
  });

  it("start() from `node -e` in handoff mode serves and stops", async () => {
    const index = new URL("../src/index.ts", import.meta.url).href;
    const script = `
      import { start } from ${JSON.stringify(index)};
      import { connect } from "node:net";
      const s = await start({ mode: "handoff", workers: 1, port: 0 });
      const echoed = await new Promise((resolve, reject) => {
        const c = connect(s.ports.echo, "127.0.0.1", () => c.end("ping"));
        let got = "";
        c.on("data", (d) => (got += d));
        c.on("end", () => resolve(got));
        c.on("error", reject);
      });
      await s.stop();
      console.log(echoed);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const [code] = await once(child, "exit");
    clearTimeout(killer);
    assert.equal(code, 0, out);
    assert.equal(out.trim(), "ping");
  });
});
