/**
 * HTTP/2 with prior knowledge (h2c, --http2 on, issue 14) beside HTTP/1.1 on the HTTP port: the
 * same echo, description, response control, events and limits through node:http2's client (and
 * curl where it speaks HTTP/2), many streams on one connection, the preface cut anywhere, drain
 * by GOAWAY, and bytes that are not HTTP/2 after the preface.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { HOST, random, refused } from "./helpers/client.ts";
import { call, session } from "./helpers/h2.ts";
import { exchange, statuses } from "./helpers/http.ts";
import { serve, sharedServer } from "./helpers/server.ts";

describe("HTTP/2 with prior knowledge (h2c)", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--http2", "on", "--max-body", "200KiB"],
  ]);
  const port = () => shared.server.listening.http as number;

  it("echoes bodies byte for byte, small and streamed, with their content type", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    for (const size of [1, 10_000, 150_000]) {
      const body = random(size);
      const r = await call(s, "/", "POST", body, { "content-type": "application/x-test" });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, body, `${size} bytes`);
      assert.equal(r.headers["content-type"], "application/x-test");
    }
  });

  it("describes a request as HTTP 2.0, from the client's address", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    const r = await call(s, "/a?format=json");
    const d = JSON.parse(r.body.toString());
    assert.equal(d.httpVersion, "2.0");
    assert.equal(d.path, "/a");
    assert.equal(d.remoteAddress, "127.0.0.1");
    assert.equal(d.remotePort, (s.socket as { localPort?: number }).localPort);
  });

  it("response control and events work over HTTP/2", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    const r = await call(
      s,
      "/?echo_status=503&echo_header=Retry-After:5",
      "POST",
      Buffer.from("x"),
    );
    assert.equal(r.status, 503);
    assert.equal(r.headers["retry-after"], "5");
    assert.equal(r.body.toString(), "x");
    const chunked = await call(s, "/?echo_bytes=9&echo_chunks=3&echo_interval=10");
    assert.equal(chunked.body.toString(), "abcdefghi");
    const events = await call(s, "/sse?count=2&interval=10");
    assert.equal(events.headers["content-type"], "text/event-stream");
    assert.equal([...events.body.toString().matchAll(/^id: /gm)].length, 2);
  });

  it("x-echo-* headers shape the answer as the query does (regression: found by the h2c surface's response-control cases, every x-echo-* header answered 500)", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    const r = await call(s, "/", "POST", Buffer.from("y"), {
      "x-echo-status": "202",
      "x-echo-header": "X-B:2",
    });
    assert.equal(r.status, 202);
    assert.equal(r.headers["x-b"], "2");
    assert.equal(r.body.toString(), "y");
    const bad = await call(s, "/", "GET", undefined, { "x-echo-delay": "-1" });
    assert.equal(bad.status, 400, "a bad value is the client's error, not ours");
  });

  it("a body over --max-body gets 413 on its stream; the connection goes on", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    const big = await call(s, "/", "POST", random(300 * 1024));
    assert.equal(big.status, 413);
    const next = await call(s, "/", "POST", Buffer.from("after"));
    assert.equal(next.body.toString(), "after");
  });

  it("a session may have 100 streams open at once (node:http2 has no limit of its own)", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    await new Promise((resolve) => s.once("remoteSettings", resolve));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 100);
  });

  it("answers 50 streams at once on one connection", async (t) => {
    const s = session(port());
    t.after(() => s.close());
    const bodies = Array.from({ length: 50 }, () => random(100));
    const replies = await Promise.all(bodies.map((b) => call(s, "/", "POST", b)));
    for (const [i, r] of replies.entries()) assert.deepEqual(r.body, bodies[i]);
  });

  it("HTTP/1.1 and its fast path still answer on the same port", async () => {
    const post = (b: string) =>
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
    const r = await exchange(port(), [post("one") + post("two")], {
      until: (t) => t.endsWith("two"),
    });
    assert.deepEqual(statuses(r.text), [200, 200]);
    // "P" as the first byte could be either: a POST is HTTP/1.1 once a byte differs from the preface.
    const cut = await exchange(
      port(),
      ["P", "OST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz"],
      {
        gapMs: 30,
        until: (t) => t.endsWith("z"),
      },
    );
    assert.deepEqual(statuses(cut.text), [200]);
  });

  it("takes the preface cut anywhere, and answers with its SETTINGS", async () => {
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    for (const at of [1, 3, 16, 23]) {
      const got = await new Promise<Buffer>((resolve) => {
        const c = connect(port(), HOST);
        let all = Buffer.alloc(0);
        c.on("data", (d: Buffer) => {
          all = Buffer.concat([all, d]);
          if (all.length >= 9) {
            c.destroy();
            resolve(all);
          }
        });
        c.on("connect", async () => {
          c.write(preface.subarray(0, at));
          await new Promise((r) => setTimeout(r, 20));
          c.write(Buffer.concat([preface.subarray(at), settings]));
        });
      });
      assert.equal(got[3], 4, `cut at ${at}: the server's first frame is SETTINGS`);
    }
  });

  it("the preface and a FIN: the server closes too (regression: found by fuzzing, the session stayed half-open)", async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const c = connect(port(), HOST, () => c.end("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
      c.on("error", () => {});
      c.on("close", () => resolve(true));
      c.resume();
      setTimeout(() => resolve(false), 3000);
    });
    assert.ok(closed);
  });

  it("a FIN before the first bytes tell h2c from HTTP/1.1: the server closes at once (regression: found by the HTTP fast path's differential test, it waited for the 10 s header timeout)", async () => {
    for (const sent of ["", "P", "PRI * HTTP/2.0\r\n"]) {
      const closed = await new Promise<boolean>((resolve) => {
        const c = connect(port(), HOST, () => c.end(sent));
        c.on("error", () => {});
        c.on("close", () => resolve(true));
        c.resume();
        setTimeout(() => resolve(false), 3000);
      });
      assert.ok(closed, JSON.stringify(sent));
    }
  });

  it("garbage after the preface ends that connection only", async (t) => {
    const junk = await exchange(port(), ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", random(200)], {
      gapMs: 10,
      waitMs: 3000,
    });
    assert.equal(junk.closed, true);
    const s = session(port());
    t.after(() => s.close());
    assert.equal((await call(s, "/", "POST", Buffer.from("ok"))).body.toString(), "ok");
  });

  it("curl --http2-prior-knowledge, where curl speaks HTTP/2", (t) => {
    const version = spawnSync("curl", ["-V"], { encoding: "utf8" });
    if (version.status !== 0 || !/HTTP2/.test(version.stdout)) {
      t.skip("no curl with HTTP/2 here");
      return;
    }
    const out = execFileSync(
      "curl",
      [
        "-s",
        "--http2-prior-knowledge",
        "-d",
        "via curl",
        "-w",
        "\n%{http_version}",
        `http://${HOST}:${port()}/`,
      ],
      { encoding: "utf8" },
    );
    assert.equal(out, "via curl\n2");
  });
});

describe("HTTP/2: drain, and what it is not", () => {
  it("drain lets a stream in flight finish (GOAWAY), then the server exits", async (t) => {
    const server = await serve(t, [
      "--mode",
      "single",
      "--http",
      "0",
      "--http2",
      "on",
      "--drain-timeout",
      "5",
    ]);
    const s = session(server.listening.http as number);
    t.after(() => s.close());
    const slow = call(s, "/?echo_delay=400", "POST", Buffer.from("late"));
    await new Promise((r) => setTimeout(r, 100));
    server.proc.kill("SIGTERM");
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "late");
  });

  it("drain stops taking connections, whatever is in front of node:http (regression: --http2 without the fast path kept listening)", async (t) => {
    const server = await serve(t, [
      ...["--mode", "single", "--http", "0", "--http2", "on", "--cors", "on"],
      ...["--drain-timeout", "5"],
    ]);
    const port = server.listening.http as number;
    const s = session(port);
    t.after(() => s.close());
    const slow = call(s, "/?echo_delay=1500", "POST", Buffer.from("x"));
    await new Promise((r) => setTimeout(r, 100));
    server.proc.kill("SIGTERM");
    await refused(port); // a new connection is refused while the server drains
    assert.equal((await slow).status, 200, "the stream in flight finished");
  });

  it("handoff: a worker takes h2c connections the primary hands it", async (t) => {
    const server = await serve(t, [
      "--mode",
      "handoff",
      "--workers",
      "2",
      "--http",
      "0",
      "--http2",
      "on",
    ]);
    const s = session(server.listening.http as number);
    t.after(() => s.close());
    const d = JSON.parse((await call(s, "/?format=json")).body.toString());
    assert.equal(d.httpVersion, "2.0");
    assert.ok(d.worker === 0 || d.worker === 1);
  });

  it("off by default: the preface is an HTTP/1.1 error", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const r = await exchange(server.listening.http as number, ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]);
    assert.equal(r.closed, true);
    assert.doesNotMatch(r.text, /^\0/, "no HTTP/2 frame");
  });
});
