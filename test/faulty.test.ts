/**
 * The echo checks must be able to fail: against deliberately faulty echo servers (a flipped,
 * dropped, doubled or reordered byte; test/fixtures/faulty-echo.ts, which the load client's
 * tests use too) the same helpers the mode suite uses reject the echo.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FAULT_AT, type Fault, withFaultyEcho } from "./fixtures/faulty-echo.ts";
import { assertEchoed, echoThrough, random } from "./helpers/client.ts";

describe("the echo checks catch a faulty server", () => {
  for (const fault of ["flip", "drop", "duplicate", "reorder"] satisfies Fault[]) {
    it(`one that makes a ${fault}`, async () => {
      let payload = random(4096);
      // A swap of two equal bytes would be no fault at all.
      while (payload[FAULT_AT] === payload[FAULT_AT + 1]) payload = random(4096);
      const got = await withFaultyEcho(fault, FAULT_AT, (port) => echoThrough(port, payload));
      assert.throws(() => assertEchoed(payload, got), assert.AssertionError);
    });
  }

  it("and passes a faithful one", async () => {
    const payload = random(4096);
    const got = await withFaultyEcho("none", FAULT_AT, (port) => echoThrough(port, payload));
    assertEchoed(payload, got);
  });
});
