/** /metrics on the admin port: Prometheus text, summed here over the worker label. */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { echoThrough, HOST, open, random } from "./helpers/client.ts";
import { once as requestOnce } from "./helpers/http.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { childPids, serve, sleep } from "./helpers/server.ts";

describe("/metrics", () => {
  for (const mode of ["single", "handoff", "threads"]) {
    it(`counts connections, bytes and datagrams over every worker (${mode})`, async (t) => {
      const s = await serve(t, ["--mode", mode, "--workers", "2", "--http", "0", "--udp", "0"]);
      for (let i = 0; i < 4; i++) {
        const payload = random(1000);
        assert.deepEqual(await echoThrough(s.port, payload), payload);
      }
      for (let i = 0; i < 2; i++) {
        const body = random(100);
        assert.deepEqual(
          (await requestOnce(s.listening.http as number, { method: "POST", body })).body,
          body,
        );
      }
      const dgram = createSocket("udp4");
      const answer = once(dgram, "message");
      dgram.send("udp", s.listening.udp as number, HOST);
      await answer;
      dgram.close();
      // Workers report every second, each on its own clock (the single loop is read at the
      // scrape): wait for the reports that carry the connections, their bytes (a connection is
      // counted when it opens, its bytes as they pass: a report can fall between) and the one
      // with the datagram. (CI once scraped the 6 connections before the last one's bytes.)
      const reported = (m: Map<string, number>) =>
        sum(m, "echoplex_connections_total") >= 6 &&
        sum(m, "echoplex_received_bytes_total") >= 4_200 &&
        sum(m, "echoplex_sent_bytes_total") >= 4_200 &&
        sum(m, "echoplex_udp_datagrams_total", 'outcome="answered"') >= 1;
      let samples = (await scrape(s)).samples;
      for (let i = 0; i < 100 && !reported(samples); i++) {
        await sleep(100);
        samples = (await scrape(s)).samples;
      }
      const { type } = await scrape(s);
      assert.match(type, /^text\/plain/);
      assert.equal(sum(samples, "echoplex_connections_total"), 6, "4 TCP + 2 HTTP connections");
      assert.ok(sum(samples, "echoplex_received_bytes_total") >= 4_200);
      assert.ok(sum(samples, "echoplex_sent_bytes_total") >= 4_200);
      assert.equal(sum(samples, "echoplex_udp_datagrams_total", 'outcome="answered"'), 1);
      assert.equal(sum(samples, "echoplex_connections_refused_total"), 0);
      assert.equal(samples.get("echoplex_ready"), 1);
      assert.equal(samples.get("echoplex_worker_restarts_total"), 0);
      assert.ok(sum(samples, "echoplex_event_loop_delay_p99_seconds") < 1);
      assert.ok(samples.has('echoplex_event_loop_delay_max_seconds{worker="0"}'));
    });
  }

  it("shows a blocked event loop in echoplex_event_loop_delay_max_seconds", async (t) => {
    // ~0.3 s of hashing per chunk on the loop itself (1 µs a round).
    const s = await serve(t, ["--mode", "single", "--work", "sha256:300000"]);
    const maxDelay = async () =>
      sum((await scrape(s)).samples, "echoplex_event_loop_delay_max_seconds");
    const before = await maxDelay();
    await echoThrough(s.port, random(64));
    // The figure covers the last whole second: poll until the window with the work has closed.
    let after = 0;
    for (let i = 0; i < 50 && after < 0.03; i++) {
      await sleep(100);
      after = await maxDelay();
    }
    t.diagnostic(
      `max loop delay ${before.toFixed(3)} s idle, ${after.toFixed(3)} s after the work`,
    );
    // Measured ~0.3 s; the bound is 10x below it. (Before: single mode read 0 here, always.)
    assert.ok(after >= 0.03, `${after} s`);
  });

  it("counts worker restarts", async (t) => {
    const s = await serve(t, ["--mode", "handoff", "--workers", "2"]);
    const [victim] = childPids(s.pid);
    assert.ok(victim !== undefined);
    process.kill(victim, "SIGKILL");
    let restarts = 0;
    for (let i = 0; i < 100 && restarts === 0; i++) {
      restarts = (await scrape(s)).samples.get("echoplex_worker_restarts_total") ?? 0;
      await sleep(50);
    }
    assert.equal(restarts, 1);
  });
});

describe("/metrics: messages, errors by kind, handoff time", () => {
  it("counts HTTP requests, WebSocket messages, bad requests and resets; times each handoff", async (t) => {
    const s = await serve(t, ["--mode", "handoff", "--workers", "2", "--http", "0"]);
    const http = s.listening.http as number;
    for (let i = 0; i < 3; i++) await requestOnce(http, { method: "POST", body: random(10) });
    const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
    await once(ws, "open");
    for (let i = 0; i < 5; i++) {
      ws.send("hello");
      await once(ws, "message");
    }
    ws.close();
    // A malformed request: answered 400 and counted as an http error.
    const bad = connect({ host: HOST, port: http });
    bad.end("NOT HTTP AT ALL\r\n\r\n");
    bad.resume();
    await once(bad, "close");
    // A connection reset by its client while the server writes to it.
    const reset = connect({ host: HOST, port: s.port });
    await once(reset, "connect");
    reset.write(random(1 << 20));
    reset.resetAndDestroy();
    // Each worker reports once a second on its own clock: wait for every count the test reads
    // (the handoff histogram is the primary's own, up to date at once).
    const complete = (x: Map<string, number>) =>
      sum(x, "echoplex_messages_total") >= 8 &&
      sum(x, "echoplex_errors_total", 'kind="http"') >= 1 &&
      sum(x, "echoplex_errors_total", 'kind="connection"') >= 1 &&
      x.get("echoplex_handoff_seconds_count") === sum(x, "echoplex_connections_total");
    let samples = (await scrape(s)).samples;
    for (let i = 0; i < 50 && !complete(samples); i++) {
      await sleep(100);
      samples = (await scrape(s)).samples;
    }
    assert.equal(sum(samples, "echoplex_messages_total", 'protocol="http"'), 3);
    assert.equal(sum(samples, "echoplex_messages_total", 'protocol="websocket"'), 5);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="http"'), 1);
    assert.ok(sum(samples, "echoplex_errors_total", 'kind="connection"') >= 1, "the reset");
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="tls"'), 0);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="accept"'), 0);
    assert.equal(samples.get('echoplex_primary_errors_total{kind="accept"}'), 0);
    // Every connection so far was handed off, and each handoff was timed.
    assert.equal(
      samples.get("echoplex_handoff_seconds_count"),
      sum(samples, "echoplex_connections_total"),
    );
    assert.ok((samples.get('echoplex_handoff_seconds_bucket{le="1"}') ?? 0) >= 1);
  });
});

describe("/metrics: drops by limit", () => {
  it("counts what each limit dropped, by the flag that set it", async (t) => {
    const s = await serve(t, [
      ...["--mode", "handoff", "--workers", "1", "--http", "0", "--max-connections", "2"],
      ...["--idle-timeout", "2", "--max-body", "100", "--max-message", "100"],
      ...["--header-timeout", "1"],
    ]);
    const http = s.listening.http as number;
    // max-body: answered 413.
    assert.equal((await requestOnce(http, { method: "POST", body: random(500) })).status, 413);
    // max-message: closed with 1009.
    const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
    await once(ws, "open");
    ws.send(random(500));
    const [code] = (await once(ws, "close")) as [number];
    assert.equal(code, 1009);
    // header-timeout: headers never finished, answered 408 (before the 2 s idle timeout).
    const slow = connect({ host: HOST, port: http });
    const slowClosed = once(slow, "close");
    slow.on("error", () => {});
    let slowReply = "";
    slow.on("data", (d: Buffer) => {
      slowReply += d.toString("latin1");
    });
    slow.write("GET / HTTP/1.1\r\n");
    await slowClosed;
    assert.match(slowReply, /^HTTP\/1\.1 408 /);
    // idle-timeout: a silent TCP connection is closed.
    const idle = connect({ host: HOST, port: s.port });
    const idleClosed = once(idle, "close");
    idle.on("error", () => {});
    idle.resume();
    await idleClosed;
    // max-connections (2, and nothing else is open now): while two are held, a third is refused.
    const held = [await open(s.port), await open(s.port)];
    for (const h of held) {
      h.on("error", () => {});
      const echoed = once(h, "data");
      h.write("x");
      await echoed;
    }
    const third = connect({ host: HOST, port: s.port });
    const thirdClosed = once(third, "close");
    third.on("error", () => {});
    third.resume();
    await thirdClosed;
    const want: Record<string, number> = {
      "max-body": 1,
      "max-message": 1,
      "header-timeout": 1,
      "max-connections": 1,
    };
    let samples = (await scrape(s)).samples;
    const drops = (limit: string) => sum(samples, "echoplex_limit_drops_total", `limit="${limit}"`);
    for (let i = 0; i < 40 && drops("max-connections") < 1; i++) {
      await sleep(100);
      samples = (await scrape(s)).samples;
    }
    for (const [limit, n] of Object.entries(want)) assert.equal(drops(limit), n, limit);
    assert.ok(drops("idle-timeout") >= 1, "idle-timeout");
    assert.equal(drops("udp-rate"), 0);
    for (const h of held) h.destroy();
  });
});
