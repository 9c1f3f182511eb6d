/** HTTP/1.1 echo: real clients (fetch, raw sockets) against the single loop on loopback. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { HOST } from "./helpers/client.ts";
import { exchange, statuses } from "./helpers/http.ts";
import { type RunningServer, serve, sharedServer } from "./helpers/server.ts";

const MAX_BODY = 4096;

describe("http echo", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0"],
    ...["--max-body", String(MAX_BODY), "--header-timeout", "1"],
  ]);
  let server: RunningServer;
  let base: string;
  let port: number;
  before(() => {
    server = shared.server;
    port = server.listening.http as number;
    base = `http://${HOST}:${port}`;
  });

  it("puts the HTTP port on the listening line", () => {
    assert.equal(typeof server.listening.http, "number");
    assert.notEqual(server.listening.http, 0);
    assert.notEqual(server.listening.http, server.port);
  });

  it("echoes a body byte-exact with the request's content-type", async () => {
    const body = randomBytes(MAX_BODY);
    const res = await fetch(`${base}/any/path`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-test" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-test");
    assert.equal(res.headers.get("content-length"), String(body.length));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  });

  it("echoes every byte value, in bodies sent in one write with their headers and in larger ones", async (t) => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = await serve(t, ["--mode", "single", "--http", "0"]);
    for (const body of [
      all,
      Buffer.concat([all, randomBytes(4096 - 256)]),
      randomBytes(4097),
      randomBytes(300_000),
    ]) {
      const res = await fetch(`http://${HOST}:${big.listening.http}/`, { method: "POST", body });
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body, `${body.length} bytes`);
    }
  });

  it("echoes a chunked body", async () => {
    const parts = [randomBytes(100), randomBytes(1000), randomBytes(7)];
    const stream = new ReadableStream({
      start(controller) {
        for (const p of parts) controller.enqueue(p);
        controller.close();
      },
    });
    const res = await fetch(base, { method: "PUT", body: stream, duplex: "half" } as RequestInit);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.concat(parts));
  });

  it("answers GET with a JSON description of the request and who served it", async () => {
    const res = await fetch(`${base}/some/where?a=1&a=2&b=x`, { headers: { "x-probe": "yes" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const d = (await res.json()) as Record<string, unknown>;
    assert.equal(d.method, "GET");
    assert.equal(d.path, "/some/where");
    assert.deepEqual(d.query, { a: ["1", "2"], b: "x" });
    assert.equal(d.httpVersion, "1.1");
    assert.equal((d.headers as Record<string, string>)["x-probe"], "yes");
    assert.equal(d.remoteAddress, HOST);
    assert.equal(typeof d.remotePort, "number");
    assert.equal(d.protocol, "http");
    assert.equal(d.worker, 0);
    assert.equal(d.pid, server.pid);
    assert.equal(typeof d.hostname, "string");
  });

  it("describes a request with a body as JSON when asked (?format=json or Accept)", async () => {
    for (const [url, headers] of [
      [`${base}/x?format=json`, {}],
      [`${base}/x`, { accept: "application/json" }],
    ] as const) {
      const res = await fetch(url, { method: "POST", body: "hello", headers });
      const d = (await res.json()) as Record<string, unknown>;
      assert.equal(d.method, "POST");
      assert.equal(d.body, "hello");
      assert.equal(d.bodyLength, 5);
    }
  });

  it("answers HEAD with GET's headers and no body", async () => {
    const reply = await exchange(port, [`HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n`], {
      until: (t) => t.includes("\r\n\r\n"),
    });
    assert.deepEqual(statuses(reply.text), [200]);
    assert.match(reply.text, /content-type: application\/json/i);
    const length = Number(/content-length: (\d+)/i.exec(reply.text)?.[1]);
    assert.ok(length > 0, "HEAD says how long the GET body would be");
    assert.ok(reply.text.endsWith("\r\n\r\n"), "and sends none of it");
  });

  it("keeps the connection alive and answers pipelined requests in order", async () => {
    const requests = ["one", "two", "three"].map(
      (b) => `POST /${b} HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\n\r\n${b}`,
    );
    const reply = await exchange(port, [requests.join("")], {
      until: (t) => t.endsWith("three"),
    });
    assert.equal(reply.closed, false, "keep-alive: the connection stays open");
    assert.deepEqual(statuses(reply.text), [200, 200, 200]);
    const bodies = reply.text
      .split(/\r\n\r\n/)
      .slice(1)
      .map((s) => s.replace(/HTTP\/1\.1.*$/s, ""));
    assert.deepEqual(bodies, ["one", "two", "three"]);
  });

  it("sends 100 Continue before reading a body the client holds back", async () => {
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n`;
    const reply = await exchange(port, [head, "ping"], {
      gapMs: 200,
      until: (t) => t.endsWith("ping"),
    });
    assert.deepEqual(statuses(reply.text), [100, 200]);
  });

  it("refuses a declared body over --max-body with 413 (even before 100 Continue) and closes", async () => {
    for (const expect of ["", "Expect: 100-continue\r\n"]) {
      const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY + 1}\r\n${expect}\r\n`;
      const reply = await exchange(port, [head]);
      assert.deepEqual(statuses(reply.text), [413], expect);
      assert.equal(reply.closed, true);
    }
  });

  it("refuses a chunked body that grows over --max-body with 413 and closes", async () => {
    const chunk = (n: number) => `${n.toString(16)}\r\n${"x".repeat(n)}\r\n`;
    const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const reply = await exchange(port, [head, chunk(MAX_BODY), chunk(10)], { gapMs: 50 });
    assert.deepEqual(statuses(reply.text), [413]);
    assert.equal(reply.closed, true);
  });

  it("answers a body of exactly --max-body", async () => {
    const res = await fetch(base, { method: "POST", body: "y".repeat(MAX_BODY) });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).length, MAX_BODY);
  });

  it("answers a malformed request with 400 and closes", async () => {
    const reply = await exchange(port, ["NOT HTTP AT ALL\r\n\r\n"]);
    assert.deepEqual(statuses(reply.text), [400]);
    assert.equal(reply.closed, true);
  });

  it("answers Content-Length with Transfer-Encoding (request smuggling) with 400 and closes", async () => {
    const smuggle =
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    const reply = await exchange(port, [smuggle]);
    assert.deepEqual(statuses(reply.text), [400]);
    assert.equal(reply.closed, true);
    assert.doesNotMatch(reply.text, /smuggled/);
  });

  it("answers headers over the limit with 431 and closes", async () => {
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`;
    const reply = await exchange(port, [big]);
    assert.deepEqual(statuses(reply.text), [431]);
    assert.equal(reply.closed, true);
  });

  it("closes a client that sends its headers too slowly (slowloris) with 408", async () => {
    // --header-timeout 1: headers still incomplete after 1 s are cut off.
    const reply = await exchange(port, ["GET / HTTP/1.1\r\n", "Host: x\r\n"], {
      gapMs: 100,
      waitMs: 8_000,
    });
    assert.equal(reply.closed, true, "the server closed the connection");
    assert.deepEqual(statuses(reply.text), [408]);
  });

  it("answers 408 to a connection that sends nothing within --header-timeout", async () => {
    // The fast path holds a new connection until its first request: the same 408 as node:http.
    const reply = await exchange(port, [], { waitMs: 8_000 });
    assert.equal(reply.closed, true, "the server closed the connection");
    assert.deepEqual(statuses(reply.text), [408]);
  });

  it("answers a complete request before a malformed one, a CONNECT or an upgrade pipelined after it", async () => {
    // node:http alone acted on the second at once and dropped the first one's answer when both
    // came in one read (found by test/http-differential.test.ts; src/worker/http/owed.ts).
    const good = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
    const after: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      ["CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n", 405],
      ["GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 404],
    ];
    for (const [second, status] of after) {
      const reply = await exchange(port, [good + second]);
      assert.deepEqual(statuses(reply.text), [200, status], second);
      assert.match(reply.text, /\r\n\r\nhiHTTP\/1\.1 /, "the first answer, whole, then the second");
      assert.equal(reply.closed, true);
    }
  });

  it("answers a WebSocket upgrade on another path with 404", async () => {
    const upgrade =
      "GET /not-ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const reply = await exchange(port, [upgrade]);
    assert.deepEqual(statuses(reply.text), [404]);
    assert.equal(reply.closed, true);
  });

  it("still echoes on the TCP echo port", async () => {
    const { echoThrough } = await import("./helpers/client.ts");
    const payload = randomBytes(10_000);
    assert.deepEqual(await echoThrough(server.port, payload), payload);
  });
});

describe("100 Continue stays before its answer (regression: found by the differential fuzz)", () => {
  const first = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  const big = "x".repeat(5000);
  const cases = [
    [
      "a large body",
      `PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
      200,
    ],
    [
      "a large chunked body",
      `PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${big}\r\n0\r\n\r\n`,
      200,
    ],
    [
      "response control",
      "PUT /?echo_status=201 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
      201,
    ],
  ] as const;
  for (const fast of ["on", "off"]) {
    for (const [what, second, status] of cases) {
      it(`pipelined behind another request, ${what} (fast path ${fast})`, async (t) => {
        const s = await serve(t, ["--mode", "single", "--http", "0", "--http-fast-path", fast]);
        const r = await exchange(s.listening.http as number, [first + second], {
          until: (text) => statuses(text).length === 3 && text.split("\r\n\r\n").length >= 4,
          waitMs: 3000,
        });
        // 200 for the first, then 100 Continue, then the second's answer, nothing in between.
        assert.deepEqual(statuses(r.text), [200, 100, status], r.text.slice(0, 300));
        const second100 = r.text.indexOf("HTTP/1.1 100 Continue\r\n\r\n");
        assert.equal(r.text.indexOf(`HTTP/1.1 ${status} `, 10), second100 + 25);
      });
    }
  }
});

describe('an HTTP/1 request line that says "HTTP/2.0" is owed its answer like any other (regression: found by the differential fuzz, seed 1202)', () => {
  // node:http parses such a request (httpVersionMajor 2, not kept alive); the bytes after it are
  // "data after Connection: close", a 400. echoplex took it for an HTTP/2 request and owed it
  // nothing, so that 400 cut its answer off when the bytes came in one read.
  const first = "PATCH / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab";
  const second = "POST / HTTP/2.0\r\nHost: a\r\nContent-Length: 2\r\n\r\ncd";
  const third = "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx";
  for (const fast of ["on", "off"]) {
    it(`answers it, then closes (fast path ${fast})`, async (t) => {
      const s = await serve(t, ["--mode", "single", "--http", "0", "--http-fast-path", fast]);
      const r = await exchange(s.listening.http as number, [first + second + third], {
        waitMs: 3000,
      });
      assert.deepEqual(statuses(r.text), [200, 200], r.text);
      assert.match(r.text, /\r\n\r\nabHTTP\/1\.1 200 [\s\S]*\r\n\r\ncd$/, "both bodies, whole");
      assert.equal(r.closed, true);
    });
  }
});
