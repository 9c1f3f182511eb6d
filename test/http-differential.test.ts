/**
 * The HTTP fast path against node:http's path, byte for byte (seeded, bounded): every generated
 * stream of requests goes, cut at the same points, to a server with the fast path and to one
 * without, and both answers must be the same but for `Date`, the client's port and the server's
 * pid (and a JSON description's length, which follows those two). `npm run fuzz -- --surface
 * http-fast` runs it for longer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { differ } from "./fuzz/differential.ts";
import { exchange, statuses } from "./helpers/http.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { serve, waitFor } from "./helpers/server.ts";

const SEED = 20261202;
const RUNS = 1000;

describe("HTTP fast path: the same answers as node:http", () => {
  it(`answers ${RUNS} generated request streams as node:http does (seed ${SEED})`, async (t) => {
    const args = ["--mode", "single", "--http", "0", "--admin", "0"];
    const fast = await serve(t, args);
    const slow = await serve(t, [...args, "--http-fast-path", "off"]);
    await differ(fast, slow, { seed: SEED, numRuns: RUNS });
    // Workers report their counters every second: wait for two reports that agree.
    let last = "";
    const answered = await waitFor("the fast path's count", async () => {
      const { samples } = await scrape(fast);
      const quick = sum(samples, "echoplex_http_fast_path_total");
      const all = sum(samples, "echoplex_messages_total", 'protocol="http"');
      const now = `${quick}/${all}`;
      const settled = now === last && all > 0;
      last = now;
      if (!settled) await new Promise((r) => setTimeout(r, 600));
      return settled ? { quick, all } : undefined;
    });
    t.diagnostic(`the fast path answered ${answered.quick} of ${answered.all} requests`);
    assert.ok(answered.quick > RUNS / 4, "the fast path was reached");
    assert.ok(answered.quick < answered.all, "and node:http answered the rest");
    assert.equal(fast.lines.filter((l) => /internal error/.test(String(l.msg))).length, 0);
  });

  it("hands a connection to node:http with the bytes it has not answered, split anywhere", async (t) => {
    const args = ["--mode", "single", "--http", "0", "--admin", "0"];
    const fast = await serve(t, args);
    const slow = await serve(t, [...args, "--http-fast-path", "off"]);
    const post = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    const get = "GET /b?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const stream = Buffer.from(post + post + get + post, "latin1");
    // Every cut point: a head or a body split across reads goes to node:http from there on.
    const cases = fc.constantFrom(...Array.from({ length: stream.length }, (_, i) => i));
    await differ(fast, slow, {
      seed: SEED,
      numRuns: stream.length,
      streams: cases.map((i) => ({ data: stream, cuts: [i / stream.length] })),
    });
  });

  it("a malformed request behind node:http's own 417, in the same read, gets its 400, and none behind its closing 400 (regressions: found by the differential fuzz, seed 20261208)", async (t) => {
    const args = ["--mode", "single", "--http", "0", "--admin", "0"];
    const fast = await serve(t, args);
    const slow = await serve(t, [...args, "--http-fast-path", "off"]);
    const read =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: nope\r\nContent-Length: 1\r\n\r\nx" +
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx";
    // And none after node:http's own answer that closes the connection (a 400 without Host):
    // the fix for the first sent one there (the same fuzz run).
    const closing =
      "TRACE / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx" +
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx";
    for (const server of [fast, slow]) {
      const port = server.listening.http as number;
      const r = await exchange(port, [read]);
      assert.deepEqual(statuses(r.text), [417, 400], r.text);
      assert.equal(r.closed, true);
      const c = await exchange(port, [closing]);
      assert.deepEqual(statuses(c.text), [400], c.text);
      assert.equal(c.closed, true);
    }
  });

  it("takes over the bytes a front read first: HTTP/1.1 behind the h2c preface check", async (t) => {
    // With --http2 on, a connection's first bytes are read to tell h2c from HTTP/1.1; the fast
    // path's first read is what that check read (however it was cut), its later reads its own.
    const args = ["--mode", "single", "--http", "0", "--admin", "0", "--http2", "on"];
    const fast = await serve(t, args);
    const slow = await serve(t, [...args, "--http-fast-path", "off"]);
    await differ(fast, slow, { seed: SEED, numRuns: RUNS / 4 });
    // The fast path was reached (workers report their counters every second).
    await waitFor("a report of fast-path answers", async () => {
      const { samples } = await scrape(fast);
      return sum(samples, "echoplex_http_fast_path_total") > 0 ? true : undefined;
    });
  });
});
