/**
 * httpbin's endpoints (src/worker/httpbin/): the differential test — every case of
 * test/httpbin/cases.ts gets from echoplex, over HTTP/1.1, h2c and h2 over TLS, the status,
 * media type, headers and body that python3-httpbin 0.7.0 gave (recorded.json), and where
 * python3-httpbin is installed the recording is checked against it live — then every bound a
 * client can steer (sizes, waits, streams, headers), PROXY and TLS, --httpbin off, faults first,
 * and generated requests from httpbin's grammar that never get a 500 nor end the loop.
 */
import assert from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { HOST } from "./helpers/client.ts";
import { call, session } from "./helpers/h2.ts";
import { exchange, once } from "./helpers/http.ts";
import { serve, sharedServer } from "./helpers/server.ts";
import { CA, TLS_FLAGS } from "./helpers/tls.ts";
import { CASES, RECORDED, summarize } from "./httpbin/cases.ts";
import { askHttp1, askHttp2 } from "./httpbin/client.ts";
import { ask, httpbinRequest } from "./httpbin/grammar.ts";
import { startHttpbin } from "./httpbin/python.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 2512);

describe("httpbin endpoints answer as httpbin does", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--http2", "on", "--max-streaming", "4"],
    ...["--max-delay", "2", "--fault-seed", "7"],
  ]);
  const port = () => shared.server.listening.http as number;

  it("HTTP/1.1: every case as recorded from python3-httpbin", async () => {
    for (const c of CASES)
      assert.deepEqual(
        summarize(c, await askHttp1(port(), c), `${HOST}:${port()}`),
        RECORDED[c.name],
        c.name,
      );
  });

  it("HTTP/2 (h2c): every case as recorded", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    for (const c of CASES)
      assert.deepEqual(
        summarize(c, await askHttp2(s, c), `${HOST}:${port()}`),
        RECORDED[c.name],
        c.name,
      );
  });

  it("the recording is what python3-httpbin answers today", async (t) => {
    const bin = await startHttpbin();
    if (bin === null) {
      t.skip("python3-httpbin is not installed here (apt-get install python3-httpbin)");
      return;
    }
    t.after(() => bin.stop());
    for (const c of CASES)
      assert.deepEqual(
        summarize(c, await askHttp1(bin.port, c), `${HOST}:${bin.port}`),
        RECORDED[c.name],
        `${c.name}: httpbin ${bin.version} no longer answers as recorded (npm run httpbin:record)`,
      );
  });

  it("HEAD has the GET's headers and no body, on both protocols", async (t) => {
    const r1 = await once(port(), { method: "HEAD", path: "/bytes/100" });
    assert.equal(r1.headers["content-length"], "100");
    assert.equal(r1.body.length, 0);
    const s = session(port());
    t.after(() => s.close());
    const r2 = await call(s, "/bytes/100", "HEAD");
    assert.equal(r2.headers["content-length"], "100");
    assert.equal(r2.body.length, 0);
  });

  it("sizes are httpbin's caps; seeded bytes repeat", async () => {
    assert.equal((await once(port(), { path: "/bytes/99999999" })).body.length, 100 * 1024);
    assert.equal(
      (await once(port(), { path: "/stream-bytes/99999999?chunk_size=1" })).body.length,
      100 * 1024,
    );
    const lines = (await once(port(), { path: "/stream/100000" })).body
      .toString()
      .trim()
      .split("\n");
    assert.equal(lines.length, 100);
    const a = (await once(port(), { path: "/bytes/64?seed=7" })).body;
    assert.deepEqual((await once(port(), { path: "/bytes/64?seed=7" })).body, a);
    assert.notDeepEqual((await once(port(), { path: "/bytes/64?seed=8" })).body, a);
    // chunk_size=1 asks for 102,400 writes; a stream is at most 1,000 of them.
    const raw = await exchange(
      port(),
      ["GET /stream-bytes/102400?chunk_size=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"],
      { until: (text) => text.endsWith("\r\n0\r\n\r\n") },
    );
    let chunks = 0;
    let bytes = 0;
    for (let at = raw.text.indexOf("\r\n\r\n") + 4; ; chunks++) {
      const eol = raw.text.indexOf("\r\n", at);
      const size = Number.parseInt(raw.text.slice(at, eol), 16);
      if (size === 0) break;
      bytes += size;
      at = eol + 2 + size + 2;
    }
    assert.equal(bytes, 100 * 1024);
    assert.ok(chunks <= 1000, `${chunks} chunks`);
    const drip = await once(port(), { path: "/drip?numbytes=100000&duration=0.2" });
    assert.equal(drip.body.toString(), "*".repeat(100_000));
    assert.equal(drip.headers["content-length"], "100000");
  });

  it("every wait is within --max-delay: 400 says so", async () => {
    for (const path of [
      "/delay/3",
      "/delay/-1",
      "/delay/x",
      "/drip?duration=3",
      "/drip?delay=1.5&duration=1",
      "/range/10?duration=9",
      "/drip?code=700",
      "/drip?numbytes=x",
    ]) {
      const r = await once(port(), { path });
      assert.equal(r.status, 400, path);
      assert.match(r.headers["content-type"] ?? "", /^text\/plain/, path);
    }
    // httpbin caps a delay at 10 s; /delay/60 is refused only because --max-delay is 2 s here.
    assert.match(String((await once(port(), { path: "/delay/60" })).body), /--max-delay \(2\)/);
  });

  it("waiting answers count against --max-streaming (503 beyond) and end when their client goes", async () => {
    const start = Date.now();
    const held = Array.from({ length: 4 }, () =>
      exchange(port(), ["GET /drip?numbytes=2&duration=2 HTTP/1.1\r\nHost: a\r\n\r\n"], {
        waitMs: 200,
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await once(port(), { path: "/delay/1" })).status, 503);
    // The four clients leave after 200 ms: their answers stop then, not when their 2 s are up.
    await Promise.all(held);
    let status = 0;
    while (status !== 200 && Date.now() - start < 1_500) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await once(port(), { path: "/delay/0" })).status;
    }
    assert.equal(status, 200, "a slot came free before the drips would have ended");
  });

  it("/status picks by weight on the loop's dice", async () => {
    let failed = 0;
    const n = 400;
    for (let i = 0; i < n; i++)
      if ((await once(port(), { path: "/status/200:3,503:1" })).status === 503) failed++;
    // 25% of 400: sd 8.7; four of them either way.
    assert.ok(Math.abs(failed - 100) < 35, `${failed} of ${n} were 503`);
  });

  it("/response-headers follows echo_header's rules: a browser-active header is refused", async () => {
    for (const q of [
      "Set-Cookie=a%3Db",
      "Content-Type=text/html",
      "Transfer-Encoding=x",
      "Access-Control-Allow-Origin=*",
      "Bad%20Name=x",
    ]) {
      const r = await once(port(), { path: `/response-headers?${q}` });
      assert.equal(r.status, 400, q);
      assert.match(String(r.body), /^response-headers: /);
    }
    const ok = await once(port(), { path: "/response-headers?Content-Type=text/csv&X-A=1" });
    assert.equal(ok.headers["content-type"], "text/csv");
    assert.equal(JSON.parse(String(ok.body))["Content-Length"], ok.headers["content-length"]);
    // Every answer keeps the sandbox; /base64 of a script is plain text.
    const page = await once(port(), {
      path: `/base64/${Buffer.from("<script>alert(1)</script>").toString("base64url")}`,
    });
    assert.match(page.headers["content-type"] ?? "", /^text\/plain/);
    assert.equal(page.headers["content-security-policy"], "sandbox");
    assert.equal(page.headers["x-content-type-options"], "nosniff");
  });

  it("a path under httpbin's names that no endpoint takes is 404; other paths echo", async () => {
    for (const path of ["/bytes/-1", "/status", "/get/x", "/basic-auth/u", "/anything/"])
      assert.equal((await once(port(), { path })).status, 404, path);
    const echo = await once(port(), { method: "POST", path: "/getx", body: Buffer.from("abc") });
    assert.equal(String(echo.body), "abc");
  });

  it("the fast path steps aside for httpbin's paths", async () => {
    const r = await once(port(), {
      method: "POST",
      path: "/anything/fast",
      body: Buffer.from("abc"),
      headers: { "content-type": "text/plain" },
    });
    assert.equal(JSON.parse(String(r.body)).data, "abc");
    const raw = await exchange(
      port(),
      ["PUT /put HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"],
      {
        until: (text) => text.includes("}\n"),
      },
    );
    assert.match(raw.text, /"data":"hi"/);
  });

  it("generated requests from httpbin's grammar never get a 500 nor end the loop, on either protocol", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    await fc.assert(
      fc.asyncProperty(httpbinRequest, async (q) => {
        const r = await ask(port(), s, q);
        assert.notEqual(
          r.status,
          500,
          `${q.h2 ? "h2" : "h1"} ${q.method} ${q.path} ${JSON.stringify(q.headers)}`,
        );
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: SEED },
    );
    assert.equal((await once(port(), { path: "/get" })).status, 200);
  });
});

describe("httpbin endpoints beside the rest of the server", () => {
  it("--httpbin off: their paths are the echo's", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--httpbin", "off"]);
    const http = s.listening.http as number;
    const described = JSON.parse(String((await once(http, { path: "/get" })).body));
    assert.equal(described.path, "/get");
    assert.equal(
      String((await once(http, { method: "POST", path: "/post", body: Buffer.from("x") })).body),
      "x",
    );
  });

  it("faults and response control come first: --faults status=503:100 answers /get 503", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--faults", "status=503:100"]);
    const http = s.listening.http as number;
    assert.equal((await once(http, { path: "/get" })).status, 503);
    assert.equal((await once(http, { path: "/status/200?echo_status=418" })).status, 418);
  });

  it("behind PROXY protocol: /ip and origin are the client the header names; over TLS h2 the url is https", async (t) => {
    const s = await serve(t, [
      "--mode",
      "handoff",
      "--workers",
      "2",
      "--http",
      "0",
      "--http2",
      "on",
      "--proxy-protocol",
      "on",
      ...TLS_FLAGS,
    ]);
    const http = s.listening.http as number;
    // The PROXY header goes first in cleartext, the TLS handshake after it.
    const raw = connect({ host: HOST, port: http });
    await new Promise((r) => raw.once("connect", r));
    raw.write("PROXY TCP4 203.0.113.9 10.0.0.1 4444 443\r\n");
    const tls = tlsConnect({ socket: raw, ca: CA, servername: "localhost", ALPNProtocols: ["h2"] });
    await new Promise((r) => tls.once("secureConnect", r));
    assert.equal(tls.alpnProtocol, "h2");
    const h2 = h2connect(`https://localhost:${http}`, { createConnection: () => tls });
    t.after(() => h2.close());
    const ip = JSON.parse(String((await call(h2, "/ip")).body));
    assert.equal(ip.origin, "203.0.113.9");
    const get = JSON.parse(String((await call(h2, "/get")).body));
    assert.match(get.url, /^https:\/\/localhost:\d+\/get$/);
  });
});
