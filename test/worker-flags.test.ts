/** Every worker process runs with the V8 flags that keep its memory small (src/main/workers.ts). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { WORKER_EXEC_ARGV } from "../src/main/workers.ts";
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
