/** The primary-worker contract: the guards keep whole messages of ours and nothing else. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFromWorker, isToWorker } from "../src/messages.ts";

const PORTS = { echo: 1, http: null, udp: null };

describe("message guards", () => {
  it("take every message of the contract", () => {
    for (const m of [
      { t: "conn", s: "echo" },
      { t: "accept", s: "http", maxOpen: 10, ms: 50, rush: 16 },
      { t: "dup", s: "echo" },
      { t: "drain", ms: 0 },
    ])
      assert.equal(isToWorker(m), true, JSON.stringify(m));
    for (const m of [
      { t: "ready", ports: PORTS },
      { t: "load", open: 1, received: 2 },
      { t: "stats", stats: {} },
      { t: "spilling", s: "echo", accepted: 30, open: 1, received: 2 },
      { t: "spilled", s: "echo", accepted: 3, full: false, open: 1, received: 2 },
      { t: "dup", s: "http" },
      { t: "draining" },
      { t: "failed", code: "ECHOPLEX_PORT_IN_USE", message: "x" },
    ])
      assert.equal(isFromWorker(m), true, JSON.stringify(m));
  });

  it("drop node:cluster's messages, other values and messages of the other direction", () => {
    for (const v of [
      { cmd: "NODE_CLUSTER", act: "online" },
      { cmd: "NODE_HANDLE_ACK" },
      null,
      undefined,
      "conn",
      42,
      [],
      { t: "toString" }, // not an own key of the table
      { t: "__proto__" },
      { t: "load", open: 1, received: 2 }, // from a worker, not to one
    ])
      assert.equal(isToWorker(v), false, JSON.stringify(v));
    assert.equal(isFromWorker({ t: "conn", s: "echo" }), false);
  });

  it("drop a message with a missing or mistyped field instead of half-reading it", () => {
    for (const m of [
      { t: "conn" },
      { t: "conn", s: "udp" },
      { t: "accept", s: "echo", maxOpen: "10", ms: 50, rush: 16 },
      { t: "accept", s: "echo", maxOpen: 10, ms: 50 },
      { t: "drain" },
      { t: "drain", ms: null },
    ])
      assert.equal(isToWorker(m), false, JSON.stringify(m));
    for (const m of [
      { t: "ready" },
      { t: "ready", ports: null },
      { t: "load", open: 1 },
      { t: "spilled", s: "echo", accepted: 3, full: "no", open: 1, received: 2 },
      { t: "spilling", s: "udp", accepted: 3, open: 1, received: 2 },
      { t: "failed", code: 1, message: "x" },
    ])
      assert.equal(isFromWorker(m), false, JSON.stringify(m));
  });
});
