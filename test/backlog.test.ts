/** --backlog reaches every TCP listener in every mode (read back from the kernel with `ss`). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { LINES } from "../src/log.ts";
import { MODES } from "../src/main/config/config.ts";
import { echoRush } from "./helpers/client.ts";
import { serve } from "./helpers/server.ts";

/** The backlog (ss's Send-Q) of every socket listening on TCP `port`. */
function backlogs(port: number): number[] {
  const r = spawnSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" });
  return r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line.trim().split(/\s+/)[2]));
}

const hasSs = spawnSync("ss", ["-V"]).status === 0;

describe("--backlog", {
  skip: hasSs ? false : "needs ss (iproute2) to read a listener's backlog",
}, () => {
  for (const mode of MODES) {
    it(`sets the backlog of the TCP echo and HTTP listeners (${mode})`, async (t) => {
      const s = await serve(t, [
        "--mode",
        mode,
        "--workers",
        "2",
        "--http",
        "0",
        "--backlog",
        "123",
      ]);
      const listeners = mode === "reuseport" || mode === "threads" ? 2 : 1;
      for (const port of [s.port, s.listening.http as number]) {
        assert.deepEqual(backlogs(port), Array(listeners).fill(123), `port ${port}`);
      }
    });
  }

  it("keeps the backlog through a spill (workers re-listen on the shared socket)", async (t) => {
    const s = await serve(t, [
      "--mode",
      "handoff",
      "--workers",
      "2",
      "--backlog",
      "123",
      "--log-level",
      "debug",
    ]);
    await echoRush(s.port, 64, 30);
    assert.ok(
      s.lines.some((l) => l.msg === LINES.spillStarted),
      "the rush spilled",
    );
    assert.deepEqual(backlogs(s.port), [123]);
  });
});
