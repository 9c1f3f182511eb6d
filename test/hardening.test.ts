/**
 * The surface response control, SSE, HTTP/2 and PROXY protocol opened, tried as an attacker
 * would (issue 23): answers a protocol cannot carry, answers a browser would act on, streams the
 * client abandons, slow clients, PROXY headers from anyone. Each case names what it guards.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import {
  constants,
  createServer as createH2Server,
  connect as h2Connect,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { refuseHeaders } from "../src/worker/answers/header-rules.ts";
import { HOST } from "./helpers/client.ts";
import { call, session } from "./helpers/h2.ts";
import { once as request } from "./helpers/http.ts";
import { restarts, scrape, sum } from "./helpers/metrics.ts";
import { serve, sharedServer, waitFor } from "./helpers/server.ts";
import { CA, TLS_FLAGS } from "./helpers/tls.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Both protocols' answer to GET `path`: status and headers (HTTP/1.1 by fetch, HTTP/2 by h2c). */
async function both(http: number, path: string) {
  const s = session(http);
  try {
    const h2 = await call(s, path);
    const h1 = await request(http, { path });
    return { h1, h2 };
  } finally {
    s.close();
  }
}

describe("an answer is checked against its protocol before it is written", () => {
  const shared = sharedServer([
    ...["--mode", "handoff", "--workers", "1", "--http", "0", "--http2", "on", "--admin", "0"],
  ]);
  const http = () => shared.server.listening.http as number;

  // The cases: each made node:http2 throw in writeHead, and the 500 path threw again.
  for (const query of [
    "echo_header=Location:a&echo_header=Location:b",
    "echo_header=ETag:a&echo_header=ETag:b",
    "echo_header=Age:1&echo_header=Age:2",
    "echo_header=HTTP2-Settings:x",
    "echo_header=Keep-Alive:5",
  ]) {
    it(`${query}: 400 on HTTP/2 naming the header; the worker lives`, async () => {
      const { h1, h2 } = await both(http(), `/?${query}`);
      assert.equal(h2.status, 400, h2.body.toString());
      const name = /=([\w-]+):/.exec(query)?.[1]?.toLowerCase() as string;
      assert.match(h2.body.toString(), new RegExp(name));
      // HTTP/1.1 may carry a repeated field; connection-specific ones are ours on both.
      assert.equal(h1.status, query.includes("Settings") || query.includes("Keep") ? 400 : 200);
    });
  }

  it("none of them restarted a worker or counted an internal error", async () => {
    const { samples } = await scrape(shared.server);
    assert.equal(await restarts(shared.server), 0);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="internal"'), 0);
  });
});

describe("the header rules agree with node:http2", () => {
  it("whatever the rules let through for HTTP/2, node:http2 sends; whatever it refuses, they refuse", async (t) => {
    const names = Object.entries(constants)
      .filter(([k]) => k.startsWith("HTTP2_HEADER_"))
      .map(([, v]) => String(v))
      .filter((n) => !n.startsWith(":"));
    const streams: ServerHttp2Stream[] = [];
    const server = createH2Server();
    server.on("stream", (s) => streams.push(s));
    server.listen(0, HOST);
    await once(server, "listening");
    const client = session((server.address() as AddressInfo).port);
    t.after(() => {
      client.destroy();
      server.close();
    });
    let checked = 0;
    for (const name of names) {
      for (const pairs of [
        [name, "a"],
        [name, "a", name, "b"],
      ]) {
        const req = client.request({ ":path": "/" });
        req.on("error", () => {});
        const stream = await waitFor("the stream", () => streams.shift());
        let threw: unknown = null;
        try {
          stream.respond([":status", "200", ...pairs] as never);
        } catch (err) {
          threw = err;
        }
        stream.close();
        checked++;
        if (threw !== null)
          assert.notEqual(
            refuseHeaders(pairs, { h2: true, unsafe: true }),
            null,
            `node:http2 refused ${pairs.join(" ")} (${String(threw)}); the rules let it through`,
          );
      }
    }
    t.diagnostic(`${checked} header sets checked against node:http2`);
  });

  it("a repeated single-value field and every connection-specific one are refused for HTTP/2", () => {
    for (const name of ["location", "etag", "content-type", "x-content-type-options", "age"])
      assert.notEqual(refuseHeaders([name, "a", name, "b"], { h2: true, unsafe: true }), null);
    for (const name of ["connection", "keep-alive", "http2-settings", "te", "upgrade"])
      assert.notEqual(refuseHeaders([name, "a"], { h2: false, unsafe: true }), null);
    assert.equal(
      refuseHeaders(["location", "a", "location", "b"], { h2: false, unsafe: true }),
      null,
    );
  });
});

describe("answers stay inert in a browser unless the operator opts out", () => {
  const active = [
    ["Content-Type:text/html", "content-type"],
    ["Content-Type:image/svg%2Bxml", "content-type"],
    ["Content-Type:application/javascript", "content-type"],
    ["Content-Type:text/xml", "content-type"],
    ["Content-Security-Policy:default-src%20*", "content-security-policy"],
    ["X-Content-Type-Options:sniff", "x-content-type-options"],
    ["Set-Cookie:a=b;%20Domain=example.com", "set-cookie"],
    ["Access-Control-Allow-Origin:*", "access-control-allow-origin"],
    ["Access-Control-Allow-Credentials:true", "access-control-allow-credentials"],
    ["Refresh:0;url=https://example.com", "refresh"],
  ] as const;
  const safe = shared();
  const unsafe = shared(["--unsafe-responses", "on"]);

  function shared(extra: string[] = []) {
    return sharedServer([
      ...["--mode", "single", "--http", "0", "--http2", "on", "--admin", "off"],
      ...extra,
    ]);
  }

  for (const [spec, name] of active) {
    it(`echo_header=${spec}: 400 on HTTP/1.1 and HTTP/2, set with --unsafe-responses on`, async () => {
      const path = `/?echo_header=${spec}&echo_header=X-Ok:1`;
      const { h1, h2 } = await both(safe.server.listening.http as number, path);
      for (const r of [h1, h2]) {
        assert.equal(r.status, 400);
        assert.match(r.body.toString(), /--unsafe-responses on/);
        assert.equal(r.headers["content-security-policy"], "sandbox");
        assert.equal(r.headers["x-content-type-options"], "nosniff");
      }
      const opened = await both(unsafe.server.listening.http as number, path);
      for (const r of [opened.h1, opened.h2]) {
        assert.equal(r.status, 200);
        assert.notEqual(r.headers[name], undefined, `${name} is set`);
      }
    });
  }

  it("an inert content type is still the request's to choose", async () => {
    const { h1, h2 } = await both(
      safe.server.listening.http as number,
      "/?echo_header=Content-Type:application/problem%2Bjson",
    );
    for (const r of [h1, h2]) {
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "application/problem+json");
      assert.equal(r.headers["content-security-policy"], "sandbox");
    }
  });
});

/** Connect and wait until the server closes; resolves with how long it took and what it said. */
async function closedAfter(port: number, send: (s: Socket) => void, limitMs: number) {
  const socket = connect({ host: HOST, port });
  socket.on("error", () => {});
  const started = Date.now();
  let said = "";
  socket.on("data", (d: Buffer) => {
    said += d.toString("latin1");
  });
  await once(socket, "connect");
  send(socket);
  const timer = setTimeout(() => socket.destroy(new Error("still open")), limitMs);
  await new Promise((resolve) => socket.once("close", resolve));
  clearTimeout(timer);
  return { ms: Date.now() - started, said, destroyed: socket.errored !== null };
}

describe("slow clients are timed out on every protocol", () => {
  // 0.2 s and 0.3 s: each case below closes in about that; 3 s is ten times it and more.
  const LIMIT_MS = 3_000;
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--http2", "on", "--admin", "0"],
    ...["--header-timeout", "0.2", "--request-timeout", "0.3"],
  ]);
  const http = () => shared.server.listening.http as number;

  it("a silent connection gets its 408 and is closed (with --http2 on)", async (t) => {
    const r = await closedAfter(http(), () => {}, LIMIT_MS);
    assert.match(r.said, /^HTTP\/1\.1 408/);
    assert.ok(!r.destroyed, `closed by the server after ${r.ms} ms`);
    // It was twice the header timeout: h2c waited that long for a preface, then node:http again.
    t.diagnostic(`closed after ${r.ms} ms with --header-timeout 0.2`);
  });

  it("an h2c session that sends only its preface is closed", async () => {
    const r = await closedAfter(http(), (s) => s.write(PREFACE), LIMIT_MS);
    assert.ok(!r.destroyed, `closed by the server after ${r.ms} ms`);
  });

  it("an h2c session idle after its last stream closes is closed (GOAWAY)", async () => {
    const s = session(http());
    s.on("error", () => {});
    const closed = once(s, "close");
    // One stream the fast path answers (its length declared), one the compatibility path does.
    const fast = await call(s, "/", "POST", Buffer.from("ok"), { "content-length": "2" });
    assert.equal(fast.body.toString(), "ok");
    assert.equal((await call(s, "/", "POST", Buffer.from("ok"))).body.toString(), "ok");
    const started = Date.now();
    const timer = setTimeout(() => s.destroy(new Error("still open")), LIMIT_MS);
    await closed;
    clearTimeout(timer);
    assert.ok(s.destroyed && Date.now() - started < LIMIT_MS);
  });

  it("an HTTP/1.1 body that stops gets 408 at --request-timeout", async () => {
    const r = await closedAfter(
      http(),
      (s) => s.write("POST /?echo_status=201 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"),
      LIMIT_MS,
    );
    assert.match(r.said, /408/);
    assert.ok(!r.destroyed, `closed by the server after ${r.ms} ms`);
  });

  it("an HTTP/1.1 body that stops on the fast path's road is timed out too", async () => {
    const r = await closedAfter(
      http(),
      (s) => s.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"),
      LIMIT_MS,
    );
    assert.ok(!r.destroyed, `closed by the server after ${r.ms} ms`);
  });

  it("an HTTP/2 body that stops: 408 and the stream reset; the session goes on", async () => {
    const s = session(http());
    try {
      const req = s.request({ ":method": "POST", ":path": "/" });
      req.on("error", () => {});
      req.resume();
      req.write("abc"); // and never ends
      const [head] = await once(req, "response");
      assert.equal(head[":status"], 408);
      await once(req, "close");
      const next = await call(s, "/", "POST", Buffer.from("ok"));
      assert.equal(next.body.toString(), "ok", "the session still serves");
    } finally {
      s.close();
    }
  });

  it("an HTTP/2 event stream longer than --request-timeout is not cut (its request was whole)", async () => {
    const s = session(http());
    try {
      const r = await call(s, "/sse?count=4&interval=150");
      assert.equal((r.body.toString().match(/^id: /gm) ?? []).length, 4);
    } finally {
      s.close();
    }
  });

  it("counted under limits", async () => {
    const { samples } = await scrape(shared.server);
    // The two HTTP/1.1 bodies and the HTTP/2 one; the silent connection, the lone preface and
    // the session idle after its stream.
    assert.equal(sum(samples, "echoplex_limit_drops_total", 'limit="request-timeout"'), 3);
    assert.equal(sum(samples, "echoplex_limit_drops_total", 'limit="header-timeout"'), 3);
  });
});

describe("streams and timers end when their client goes, and at --max-delay", () => {
  const shared = sharedServer([
    ...["--mode", "handoff", "--workers", "1", "--http", "0", "--http2", "on", "--admin", "0"],
    ...["--max-delay", "1"],
  ]);
  const http = () => shared.server.listening.http as number;

  it("/sse?count=0 ends at --max-delay: as many events as fit, then the end", async () => {
    const s = session(http());
    try {
      const r = await call(s, "/sse?count=0&interval=100");
      const events = r.body.toString().match(/^id: /gm) ?? [];
      assert.equal(events.length, 11, "one at once, then one every 100 ms for 1 s");
      const h1 = await request(http(), { path: "/sse?count=0&interval=250" });
      assert.equal((h1.body.toString().match(/^id: /gm) ?? []).length, 5);
    } finally {
      s.close();
    }
  });

  it("abandoned HTTP/2 streams: cancelled, then the client hangs up; nothing stays open", async () => {
    for (let c = 0; c < 3; c++) {
      const s = session(http());
      const streams = Array.from({ length: 100 }, () => {
        const r = s.request({ ":path": "/sse?count=0&interval=10" });
        r.on("error", () => {});
        return r;
      });
      await once(streams[99] as never, "response");
      for (const r of streams) r.close(constants.NGHTTP2_CANCEL);
      s.destroy();
    }
    const open = async () =>
      sum((await scrape(shared.server)).samples, "echoplex_connections_open");
    await waitFor("no connection open", async () => ((await open()) === 0 ? true : undefined));
  });

  it("an h2c session still waiting for its stream's delayed answer is not dropped as idle", async () => {
    const s = session(http());
    try {
      const r = await call(s, "/?echo_delay=300");
      assert.equal(r.status, 200);
    } finally {
      s.close();
    }
  });
});

describe("PROXY protocol from trusted peers only", () => {
  const header = "PROXY TCP4 6.6.6.6 10.0.0.1 5555 80\r\n";

  /** What the TCP echo answers `bytes` before closing (or the test's own 5 s give up). */
  async function echoOf(port: number, bytes: string): Promise<string> {
    const socket = connect({ host: HOST, port });
    socket.on("error", () => {});
    let got = "";
    socket.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= 5) socket.end();
    });
    socket.write(bytes);
    const timer = setTimeout(() => socket.destroy(), 5_000);
    await new Promise((resolve) => socket.once("close", resolve)); // a reset is an answer too
    clearTimeout(timer);
    return got;
  }

  it("--proxy-trusted 10.0.0.0/8: a loopback client's header is refused, closed and counted", async (t) => {
    const server = await serve(t, [
      ...["--mode", "single", "--admin", "0", "--proxy-protocol", "on"],
      ...["--proxy-trusted", "10.0.0.0/8"],
    ]);
    assert.equal(await echoOf(server.port, `${header}hello`), "");
    const { samples } = await scrape(server);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="proxy"'), 1);
  });

  it("by default loopback is trusted: the header is read and never echoed", async (t) => {
    const server = await serve(t, ["--mode", "single", "--admin", "off", "--proxy-protocol", "on"]);
    assert.equal(await echoOf(server.port, `${header}hello`), "hello");
  });

  it("--max-connections 2 holds at most 2 of 50 silent PROXY connections", async (t) => {
    const server = await serve(t, [
      ...["--mode", "single", "--admin", "off", "--proxy-protocol", "on"],
      ...["--max-connections", "2"],
    ]);
    const sockets = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const s = connect({ host: HOST, port: server.port });
        s.on("error", () => {});
        await once(s, "connect");
        return s;
      }),
    );
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const held = await waitFor("the refusals", () => {
      const open = sockets.filter((s) => !s.closed && !s.readableEnded).length;
      return open <= 2 ? open : undefined;
    });
    assert.ok(held <= 2);
  });
});

describe("the same rules over TLS (h2 by ALPN and HTTP/1.1) with PROXY protocol in front", () => {
  const shared = sharedServer([
    ...["--mode", "handoff", "--workers", "1", "--http", "0", "--http2", "on", "--admin", "0"],
    ...["--proxy-protocol", "on", "--max-delay", "1", ...TLS_FLAGS],
  ]);
  const HEADER = "PROXY TCP4 198.51.100.4 10.0.0.1 4444 443\r\n";

  /** The PROXY header in the clear, then TLS choosing `alpn`. */
  function behindProxy(alpn: string): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const raw = connect(shared.server.listening.http as number, HOST, () => {
        raw.write(HEADER);
        const secure = tlsConnect(
          { socket: raw, ca: CA, servername: "localhost", ALPNProtocols: [alpn] },
          () => resolve(secure),
        );
        secure.on("error", reject);
      });
      raw.on("error", reject);
    });
  }

  async function h2(path: string) {
    const secure = await behindProxy("h2");
    const s = h2Connect("https://localhost", { createConnection: () => secure });
    s.on("error", () => {});
    try {
      return await call(s, path);
    } finally {
      s.close();
    }
  }

  async function h1(path: string): Promise<string> {
    const secure = await behindProxy("http/1.1");
    secure.write(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    let text = "";
    secure.setEncoding("latin1").on("data", (d: string) => {
      text += d;
    });
    await new Promise((resolve) => secure.once("close", resolve));
    return text;
  }

  it("a repeated single-value header: 400 on h2, both carried on HTTP/1.1", async () => {
    const r = await h2("/?echo_header=Location:a&echo_header=Location:b");
    assert.equal(r.status, 400);
    const text = await h1("/?echo_header=Location:a&echo_header=Location:b");
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /location: a\r\nlocation: b/i);
  });

  it("what a browser acts on: 400 on both", async () => {
    const r = await h2("/?echo_header=Set-Cookie:a=b");
    assert.equal(r.status, 400);
    assert.match(await h1("/?echo_header=Content-Type:text/html"), /^HTTP\/1\.1 400/);
  });

  it("/sse?count=0 ends at --max-delay on h2 over TLS", async () => {
    const r = await h2("/sse?count=0&interval=250");
    assert.equal((r.body.toString().match(/^id: /gm) ?? []).length, 5);
  });

  it("the description names the client from the header on h2", async () => {
    const r = await h2("/?format=json");
    assert.equal(JSON.parse(r.body.toString()).remoteAddress, "198.51.100.4");
  });

  it("no internal error, no worker replaced", async () => {
    const { samples } = await scrape(shared.server);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="internal"'), 0);
    assert.equal(await restarts(shared.server), 0);
  });
});
