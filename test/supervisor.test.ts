import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger } from "../src/log.ts";
import { Supervisor } from "../src/main/supervisor.ts";
import { waitFor } from "./helpers/server.ts";

const FIXTURE = fileURLToPath(new URL("fixtures/short-lived-worker.ts", import.meta.url));

it("replaces a worker that keeps dying young after a growing delay", async () => {
  const spawns: number[] = [];
  const supervisor = new Supervisor(() => {
    spawns.push(Date.now());
    return fork(FIXTURE, [], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
  }, createLogger("silent"));
  await supervisor.add(0);
  await waitFor("five replacements", () => (spawns.length >= 6 ? true : undefined), 20_000);
  await supervisor.stop(0);
  const gaps = spawns.slice(1).map((t, i) => t - (spawns[i] as number));
  // Delays of 50, 100, 200, 400, 800 ms on top of each worker's short life.
  assert.ok(
    (gaps[4] as number) > 3 * (gaps[1] as number),
    `gaps between spawns: ${gaps.join(", ")} ms`,
  );
  assert.ok((gaps[4] as number) >= 800, `gaps between spawns: ${gaps.join(", ")} ms`);
});
