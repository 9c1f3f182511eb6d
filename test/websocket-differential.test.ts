/**
 * The WebSocket fast path against ws, byte for byte (seeded, bounded): every generated stream
 * (an upgrade, then frames near the fast path's edge) goes, cut at the same points, to a server
 * with the fast path and to one without, and both must answer with the same bytes and close
 * alike. `npm run fuzz -- --surface ws-fast` runs it for longer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { differ } from "./fuzz/differential.ts";
import { MAX_MESSAGE } from "./fuzz/websocket.ts";
import { wsFastStreams } from "./fuzz/websocket-fast.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { serve, waitFor } from "./helpers/server.ts";

const SEED = 20261203;
const RUNS = 600;

describe("WebSocket fast path: the same answers as ws", () => {
  it(`answers ${RUNS} generated frame streams as ws does (seed ${SEED})`, async (t) => {
    const args = ["--mode", "single", "--http", "0", "--admin", "0"];
    const limits = ["--max-message", String(MAX_MESSAGE)];
    const fast = await serve(t, [...args, ...limits]);
    const slow = await serve(t, [...args, ...limits, "--http-fast-path", "off"]);
    await differ(fast, slow, { seed: SEED, numRuns: RUNS, streams: wsFastStreams });
    // Workers report their counters every second: wait for two reports that agree.
    let last = "";
    const echoed = await waitFor("the fast path's count", async () => {
      const { samples } = await scrape(fast);
      const quick = sum(samples, "echoplex_websocket_fast_path_total");
      const all = sum(samples, "echoplex_messages_total", 'protocol="websocket"');
      const now = `${quick}/${all}`;
      const settled = now === last && all > 0;
      last = now;
      if (!settled) await new Promise((r) => setTimeout(r, 600));
      return settled ? { quick, all } : undefined;
    });
    t.diagnostic(`the fast path echoed ${echoed.quick} of ${echoed.all} messages`);
    assert.ok(echoed.quick > RUNS, "the fast path was reached");
    assert.ok(echoed.quick < echoed.all, "and ws echoed the rest");
    assert.equal(fast.lines.filter((l) => /internal error/.test(String(l.msg))).length, 0);
  });
});
