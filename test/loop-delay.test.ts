/** The event loop's delay as /metrics reports it (src/worker/loop/loop-delay.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LoopDelay, windowMax } from "../src/worker/loop/loop-delay.ts";
import { sleep, waitFor } from "./helpers/server.ts";

describe("loop delay", () => {
  it("takes a stall the histogram missed from the window timer's own lateness", () => {
    assert.equal(windowMax(0, 0), 0, "idle");
    assert.equal(windowMax(12e6, 3), 0.002, "the histogram, less the 10 ms sampling interval");
    // The window ran first after a 600 ms stall and the reset lost the histogram's sample.
    assert.equal(windowMax(11e6, 610), 0.6);
  });

  it("shows a blocked loop in the next window's max", async (t) => {
    const delay = new LoopDelay();
    t.after(() => delay.stop());
    await sleep(50); // the sampling runs
    const until = performance.now() + 300;
    while (performance.now() < until); // block this loop for 300 ms
    const max = await waitFor("a window with the stall", () =>
      delay.latest.max >= 0.2 ? delay.latest.max : undefined,
    );
    assert.ok(max < 5, `${max} s`);
  });
});
