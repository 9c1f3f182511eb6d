import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Candidate,
  GRANT_MAX,
  GRANT_MIN,
  grantSize,
  minLoad,
  pick,
} from "../src/main/handoff/balancer.ts";

const w = (load: number, free = true, extra: Partial<Candidate> = {}): Candidate => ({
  ready: true,
  free,
  stalled: false,
  load,
  ...extra,
});

describe("balancer", () => {
  it("round-robin rotates over free workers from the cursor", () => {
    const ws = [w(0), w(0), w(0)];
    assert.equal(pick(ws, "round-robin", 0), 0);
    assert.equal(pick(ws, "round-robin", 1), 1);
    assert.equal(pick(ws, "round-robin", 5), 2);
  });

  it("least-connections takes the least loaded, ties in rotation", () => {
    assert.equal(pick([w(3), w(1), w(2)], "least-connections", 0), 1);
    assert.equal(pick([w(1), w(1), w(1)], "least-connections", 2), 2);
  });

  it("skips workers whose channel is busy, that are not ready, or too far ahead", () => {
    assert.equal(pick([w(0, false), w(1)], "least-connections", 0), 1);
    assert.equal(pick([w(0, true, { ready: false }), w(5)], "round-robin", 0), 1);
    // 100 and 10: the least loaded is busy; 100 is beyond the slack, so wait.
    assert.equal(pick([w(10, false), w(100)], "round-robin", 0), -1);
    assert.equal(pick([w(10, false), w(100)], "least-connections", 0), -1);
  });

  it("leaves a stalled worker out of the minimum, so the others go on", () => {
    assert.equal(pick([w(10, false, { stalled: true }), w(100)], "least-connections", 0), 1);
    assert.equal(minLoad([w(10, false, { stalled: true }), w(100)]), 100);
  });

  it("returns -1 when nobody can take a connection", () => {
    assert.equal(pick([], "round-robin", 0), -1);
    assert.equal(pick([w(0, false), w(0, false)], "least-connections", 0), -1);
  });

  it("sizes spill grants by the total load, less the worker's lead", () => {
    assert.equal(grantSize([w(0), w(0)], w(0)), GRANT_MIN);
    assert.equal(grantSize([w(1000), w(1000)], w(1000)), 100);
    assert.equal(grantSize([w(10_000), w(10_000)], w(10_000)), GRANT_MAX);
    assert.equal(grantSize([w(1000), w(1060)], w(1060)), 103 - 60); // step: 2060 / 20
    assert.equal(grantSize([w(0), w(50)], w(50)), 0);
  });
});
