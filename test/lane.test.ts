/**
 * A handoff lane and child_process's NACK: a worker out of descriptors cannot receive a handle;
 * child_process retransmits it MAX_RETRANSMISSIONS times, then closes it and sends the next one
 * without any ACK. The lane must move on then, or it waits for ever (the flood test found the
 * queue stuck at 42 with both workers idle).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Pending } from "../src/main/handoff/handles.ts";
import {
  acknowledge,
  MAX_RETRANSMISSIONS,
  nacked,
  newLane,
  occupy,
} from "../src/main/handoff/lane.ts";

it("gives a handle up after child_process's retransmissions, as child_process does", () => {
  const lane = newLane(0);
  const conn = { at: 0 } as unknown as Pending;
  occupy(lane, conn);
  occupy(lane, null);
  for (let i = 0; i < MAX_RETRANSMISSIONS; i++) assert.equal(nacked(lane), false, `NACK ${i + 1}`);
  assert.equal(nacked(lane), true, "the last NACK: child_process closed it and moved on");
  assert.equal(acknowledge(lane), conn);
  assert.equal(lane.free, false, "the next message is still in flight");
  assert.equal(nacked(lane), false, "a new message starts a new count");
});

it("counts as child_process does (lib/internal/child_process.js in this Node)", () => {
  const natives = (process as unknown as { binding(name: string): Record<string, string> }).binding(
    "natives",
  );
  const source = natives["internal/child_process"] ?? "";
  assert.match(source, new RegExp(`MAX_HANDLE_RETRANSMISSIONS = ${MAX_RETRANSMISSIONS};`));
  assert.match(source, /retransmissions\+\+ ===\s+MAX_HANDLE_RETRANSMISSIONS/);
});
