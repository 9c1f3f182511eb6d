/**
 * Response control, server-sent events and CORS on the HTTP echo (issue 14), on a real server:
 * what each parameter does, from the query and from headers, each bound (400 with the reason),
 * what turns them off, and that delayed and streamed answers are held to --idle-timeout and
 * drain like any other.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { answer } from "../src/worker/answers/answer.ts";
import { TimedAnswers } from "../src/worker/answers/timed.ts";
import { exchange, once, statuses } from "./helpers/http.ts";
import { serve, sharedServer } from "./helpers/server.ts";

const post = (target: string, body: string, headers = ""): string =>
  `POST ${target} HTTP/1.1\r\nHost: a\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** The chunks of a chunked body, in order. */
function chunksOf(text: string): string[] {
  let rest = text.slice(text.indexOf("\r\n\r\n") + 4);
  const out: string[] = [];
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const n = Number.parseInt(rest.slice(0, eol), 16);
    if (!(n > 0)) return out;
    out.push(rest.slice(eol + 2, eol + 2 + n));
    rest = rest.slice(eol + 2 + n + 2);
  }
}

describe("response control", () => {
  const server = sharedServer(["--mode", "single", "--http", "0", "--max-body", "64KiB"]);
  const http = () => server.server.listening.http as number;

  it("echo_status and x-echo-status set the status; the query wins", async () => {
    const a = await once(http(), {
      method: "POST",
      path: "/?echo_status=503",
      body: Buffer.from("x"),
    });
    assert.equal(a.status, 503);
    assert.equal(a.body.toString(), "x", "the echo is the body");
    const b = await once(http(), {
      method: "POST",
      body: Buffer.from("y"),
      headers: { "x-echo-status": "418" },
    });
    assert.equal(b.status, 418);
    const c = await once(http(), {
      path: "/?echo_status=201",
      headers: { "x-echo-status": "500" },
    });
    assert.equal(c.status, 201, "the query wins over the header");
    assert.equal(c.headers["content-type"], "application/json", "a GET still gets its description");
  });

  it("1xx: 100, 102 and 103 go first, then the answer; other 1xx are refused", async () => {
    for (const code of [100, 102, 103]) {
      const r = await exchange(http(), [post(`/?echo_status=${code}`, "hi")], {
        until: (t) => t.endsWith("hi"),
      });
      assert.deepEqual(statuses(r.text), [code, 200], r.text);
    }
    const bad = await once(http(), { path: "/?echo_status=101" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /only 100, 102 and 103/);
  });

  it("204 and 304 carry no body and no Content-Length", async () => {
    for (const code of [204, 304]) {
      const r = await exchange(http(), [post(`/?echo_status=${code}`, "gone")], {
        until: (t) => t.includes("\r\n\r\n"),
      });
      assert.deepEqual(statuses(r.text), [code]);
      assert.doesNotMatch(r.text, /content-length/i);
      assert.ok(r.text.endsWith("\r\n\r\n"), "nothing after the head");
    }
  });

  it("echo_header adds headers, repeatable, from the query and from x-echo-header", async () => {
    const q = await once(http(), {
      method: "POST",
      path: "/?echo_header=X-A:1&echo_header=Retry-After:%2030&echo_header=Content-Type:text/csv",
      body: Buffer.from("z"),
    });
    assert.equal(q.headers["x-a"], "1");
    assert.equal(q.headers["retry-after"], "30");
    assert.equal(q.headers["content-type"], "text/csv", "replaces the echo's own");
    const h = await exchange(
      http(),
      [post("/", "z", "X-Echo-Header: X-B: 2\r\nx-echo-header: X-C:3\r\n")],
      { until: (t) => t.endsWith("z") },
    );
    assert.match(h.text, /\r\nX-B: 2\r\n/);
    assert.match(h.text, /\r\nX-C: 3\r\n/);
  });

  // As they go in the query (percent-encoded).
  for (const [spec, why] of [
    ["Transfer-Encoding:chunked", /frames the answer/],
    ["Connection:close", /frames the answer/],
    ["content-length:1", /frames the answer/],
    ["Bad%20Name:1", /not Name:value/],
    [":novalue", /not Name:value/],
    ["X-A:a%0d%0aX-Injected:1", /not Name:value/],
  ] as const) {
    it(`echo_header=${spec}: 400 and why`, async () => {
      const r = await once(http(), { path: `/?echo_header=${spec}` });
      assert.equal(r.status, 400);
      assert.match(r.body.toString(), why);
      assert.equal(r.headers["x-injected"], undefined);
    });
  }

  it("echo_delay holds the answer that long (and not the others on the loop)", async () => {
    const started = Date.now();
    const slow = once(http(), {
      method: "POST",
      path: "/?echo_delay=400",
      body: Buffer.from("late"),
    });
    const quick = await once(http(), { method: "POST", body: Buffer.from("now") });
    assert.ok(Date.now() - started < 400, "another request is not held behind it");
    assert.equal(quick.body.toString(), "now");
    const r = await slow;
    assert.ok(Date.now() - started >= 390, `answered after ${Date.now() - started} ms`);
    assert.equal(r.body.toString(), "late");
  });

  it("echo_bytes answers with N generated bytes instead of the echo", async () => {
    for (const n of [0, 1, 65_536]) {
      const r = await once(http(), {
        method: "POST",
        path: `/?echo_bytes=${n}`,
        body: Buffer.from("ignored"),
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, n);
      assert.equal(r.headers["content-length"], String(n));
      assert.equal(r.headers["content-type"], "application/octet-stream");
      assert.equal(r.body.toString(), "abcdefghijklmnopqrstuvwxyz".repeat(3000).slice(0, n));
    }
    const big = await once(http(), { path: "/?echo_bytes=65537" });
    assert.equal(big.status, 400, "over --max-body");
  });

  it("echo_chunks sends the answer in N chunks, echo_interval apart", async () => {
    const started = Date.now();
    const r = await exchange(http(), [post("/?echo_chunks=4&echo_interval=100", "abcdefgh")], {
      until: (t) => t.endsWith("0\r\n\r\n"),
    });
    assert.ok(Date.now() - started >= 290, "three intervals");
    assert.match(r.text, /transfer-encoding: chunked/i);
    assert.deepEqual(chunksOf(r.text), ["ab", "cd", "ef", "gh"]);
    const generated = await exchange(
      http(),
      [post("/?echo_bytes=10&echo_chunks=3&echo_interval=0", "")],
      {
        until: (t) => t.endsWith("0\r\n\r\n"),
      },
    );
    assert.deepEqual(chunksOf(generated.text), ["abc", "def", "ghij"]);
  });

  for (const target of [
    "/?echo_status=99",
    "/?echo_status=600",
    "/?echo_status=2e2",
    "/?echo_delay=-1",
    "/?echo_delay=60001",
    "/?echo_chunks=0",
    "/?echo_chunks=10001",
    "/?echo_chunks=1000&echo_interval=61",
    "/?echo_bytes=x",
  ]) {
    it(`${target}: 400 that names the parameter`, async () => {
      const r = await once(http(), { path: target });
      assert.equal(r.status, 400);
      assert.match(
        r.body.toString(),
        /^echo_(status|delay|chunks|bytes|interval)|over --max-delay/,
      );
    });
  }

  it("the fast path leaves echo_ and x-echo- requests to node:http", async () => {
    const r = await exchange(
      http(),
      [post("/?echo_status=202", "a") + post("/", "b", "x-echo-status: 203\r\n") + post("/", "c")],
      { until: (t) => statuses(t).length === 3 && t.endsWith("c") },
    );
    assert.deepEqual(statuses(r.text), [202, 203, 200]);
  });
});

describe("response control: off, and held to the server's limits", () => {
  it("--response-control off ignores every parameter", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--response-control", "off"]);
    const r = await once(s.listening.http as number, {
      method: "POST",
      path: "/?echo_status=500&echo_bytes=3",
      body: Buffer.from("kept"),
      headers: { "x-echo-header": "X-A:1" },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "kept");
    assert.equal(r.headers["x-a"], undefined);
  });

  it("a delay longer than --idle-timeout: the idle timer closes the connection", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--idle-timeout", "0.3"]);
    const r = await exchange(s.listening.http as number, [post("/?echo_delay=10000", "x")], {
      waitMs: 8000,
    });
    assert.equal(r.closed, true);
    assert.equal(statuses(r.text).length, 0, "no answer came");
    assert.ok(r.ms < 3000, `closed after ${r.ms} ms`); // 10x the 0.3 s idle timeout
  });

  it("--max-delay bounds echo_delay", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--max-delay", "0.5"]);
    const r = await once(s.listening.http as number, { path: "/?echo_delay=501" });
    assert.equal(r.status, 400);
    assert.match(r.body.toString(), /0 to 500/);
  });
});

describe("server-sent events", () => {
  const server = sharedServer(["--mode", "single", "--http", "0"]);
  const http = () => server.server.listening.http as number;

  it("GET /sse?count=3&interval=50: three events, numbered, then the end", async () => {
    const r = await exchange(http(), ["GET /sse?count=3&interval=50 HTTP/1.1\r\nHost: a\r\n\r\n"], {
      until: (t) => t.endsWith("0\r\n\r\n"),
    });
    assert.match(r.text, /content-type: text\/event-stream/i);
    assert.match(r.text, /cache-control: no-cache/i);
    const events = [...r.text.matchAll(/id: (\d+)\ndata: (\{[^\n]*\})\n\n/g)];
    assert.deepEqual(
      events.map((e) => Number(e[1])),
      [1, 2, 3],
    );
    for (const e of events) {
      const data = JSON.parse(e[2] as string);
      assert.equal(data.n, Number(e[1]));
      assert.ok(!Number.isNaN(Date.parse(data.time)));
    }
  });

  it("bad parameters: 400", async () => {
    for (const q of [
      "count=-1",
      "count=x",
      "interval=99999999",
      "interval=9",
      "count=100000&interval=60000",
    ]) {
      const r = await once(http(), { path: `/sse?${q}` });
      assert.equal(r.status, 400, q);
    }
  });

  it("count=0 streams until the server drains, then ends the stream cleanly", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--drain-timeout", "5"]);
    let text = "";
    const ended = exchange(
      s.listening.http as number,
      ["GET /sse?count=0&interval=20 HTTP/1.1\r\nHost: a\r\n\r\n"],
      {
        until: (got) => {
          text = got;
          return got.endsWith("0\r\n\r\n");
        },
        waitMs: 8000,
      },
    );
    while (!text.includes("id: 3\n")) await new Promise((r) => setTimeout(r, 20));
    s.proc.kill("SIGTERM");
    const r = await ended;
    assert.ok(r.text.endsWith("0\r\n\r\n"), "the chunked stream ended, not cut");
  });
});

describe("CORS", () => {
  const on = sharedServer(["--mode", "single", "--http", "0", "--cors", "on", "--max-body", "10"]);
  const http = () => on.server.listening.http as number;

  it("answers a preflight for the origin, method and headers it asks about", async () => {
    const r = await once(http(), {
      method: "OPTIONS",
      headers: {
        origin: "https://a.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-b, content-type",
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers["access-control-allow-origin"], "https://a.example");
    assert.equal(r.headers["access-control-allow-methods"], "PUT");
    assert.equal(r.headers["access-control-allow-headers"], "x-b, content-type");
    assert.match(String(r.headers.vary), /Origin/);
  });

  it("puts its headers on every answer: echo, description, events, errors", async () => {
    const origin = { origin: "https://b.example" };
    const answers = [
      await once(http(), { method: "POST", body: Buffer.from("x"), headers: origin }),
      await once(http(), { headers: origin }),
      await once(http(), { path: "/sse?count=1", headers: origin }),
      await once(http(), { method: "POST", body: Buffer.from("too long body"), headers: origin }),
      await once(http(), { path: "/?echo_status=999", headers: origin }),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 413, 400],
    );
    for (const a of answers) {
      assert.equal(a.headers["access-control-allow-origin"], "https://b.example");
      assert.equal(a.headers["access-control-expose-headers"], "*");
    }
    const none = await once(http(), { method: "POST", body: Buffer.from("x") });
    assert.equal(none.headers["access-control-allow-origin"], "*", "no Origin: any");
  });

  it("is off by default: no CORS headers, OPTIONS is an ordinary request", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0"]);
    const r = await once(s.listening.http as number, {
      method: "OPTIONS",
      headers: { origin: "https://a.example", "access-control-request-method": "PUT" },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers["access-control-allow-origin"], undefined);
  });
});

describe("response control's timers", () => {
  /** A response double: writeHead as given, a client that is there until `left`. */
  const fakeRes = (writeHead: () => void) => {
    const client = { destroyed: false };
    const res = Object.assign(new EventEmitter(), {
      writeHead,
      destroyed: false,
      req: { socket: client },
      destroy: () => {},
    });
    return { res, left: () => (client.destroyed = true) };
  };
  const control = (delayMs: number) => ({
    status: 200,
    interim: 0,
    delayMs,
    headers: [],
    bytes: -1,
    chunks: 1,
    intervalMs: 0,
    close: false,
    reset: false,
    injected: [],
  });

  it("an exception in a delayed answer goes to the loop's failure path, and frees its place", async () => {
    const failed: unknown[] = [];
    const timed = new TimedAnswers(1, 60_000, (_res, err) => failed.push(err));
    const { res } = fakeRes(() => {
      throw new Error("injected");
    });
    answer(res as never, control(5), [], Buffer.from("x"), timed.begin(res as never));
    assert.equal(timed.open, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(failed.length, 1);
    assert.match(String(failed[0]), /injected/);
    assert.equal(timed.open, 0);
  });

  it("a client that leaves during a delay stops the timer, with or without a 'close'", async () => {
    const timed = new TimedAnswers(2, 60_000, () => assert.fail("nothing fails"));
    let wrote = 0;
    const a = fakeRes(() => wrote++);
    answer(a.res as never, control(30), [], Buffer.from("x"), timed.begin(a.res as never));
    a.res.emit("close");
    // node:http2 does not always emit 'close' for an abandoned stream: the timer looks itself.
    const b = fakeRes(() => wrote++);
    answer(b.res as never, control(30), [], Buffer.from("x"), timed.begin(b.res as never));
    b.left();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(wrote, 0);
    assert.equal(timed.open, 0);
  });

  it("a loop holds at most --max-streaming timed answers", () => {
    const timed = new TimedAnswers(1, 60_000, () => {});
    const a = fakeRes(() => {});
    const t = timed.begin(a.res as never);
    assert.notEqual(t, null);
    assert.equal(timed.begin(fakeRes(() => {}).res as never), null);
    t?.stop();
    assert.notEqual(timed.begin(fakeRes(() => {}).res as never), null);
  });
});
