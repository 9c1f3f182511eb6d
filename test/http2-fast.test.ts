/**
 * HTTP/2's fast path (src/worker/http/h2-fast.ts) against the compatibility API's path it stands
 * in for: generated requests from the echo's grammar (methods, paths of the echo, of httpbin and
 * of response control, the headers either path reads, bodies around the 4 KiB bound, with and
 * without Content-Length) go to a server with the fast path and to one without, and must get the
 * same status, headers (but Date) and body. Then what only the fast path does: which requests it
 * takes, and --request-timeout by its sweep.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fastLength } from "../src/worker/http/h2-fast.ts";
import { PREFACE } from "./fuzz/h2c.ts";
import { HOST, random } from "./helpers/client.ts";
import { call, type H2Reply, replyOf, session } from "./helpers/h2.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { serve, sharedServer } from "./helpers/server.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.H2_FAST_RUNS ?? 150);
const ARGS = ["--mode", "single", "--http", "0", "--http2", "on", "--max-body", "8KiB"];

/** A reply as both paths must agree on it: Date left out; a description, but what names a server. */
function comparable(r: H2Reply) {
  const { date: _, ...headers } = r.headers;
  const body = r.body.toString("latin1");
  if (!String(headers["content-type"]).startsWith("application/json"))
    return { status: r.status, headers, body };
  // A description: the two servers differ in their port and pid, and so in what the client said
  // of them. An echoed body with a JSON type is the request's bytes, which may begin with "{" and
  // still not be JSON: it stays as it is.
  const d = parsed(r.body.toString().replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT"));
  if (d === undefined) return { status: r.status, headers, body };
  delete d.remotePort;
  delete d.pid;
  return { status: r.status, headers, body: d };
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const d: unknown = JSON.parse(text);
    return typeof d === "object" && d !== null ? (d as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `size` bytes from `seed` (xorshift32), so a failing run repeats under its seed. */
function bytes(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const request = fc.record({
  method: fc.constantFrom("POST", "PUT", "PATCH", "GET", "DELETE", "OPTIONS"),
  path: fc.constantFrom(
    "/",
    "/a/b",
    "/x?y=1",
    "/?format=json",
    "/a?format=json&z=2",
    "/?echo_status=201",
    "/q?echo_header=X-A:1",
    "/anything/x",
    "/post",
    "/status/418",
    "/ssex", // (GET /sse streams events with their times: not comparable)
    "/echo_status",
    "/get?echo_=",
  ),
  size: fc.constantFrom(0, 1, 17, 4095, 4096, 4097, 8192, 9000),
  // The body's bytes, from a seed of their own; the first byte forced to "{" at times, the case
  // a description and an echo of the request's JSON-typed bytes must both survive.
  fill: fc.integer(),
  brace: fc.boolean(),
  length: fc.constantFrom("exact", "absent", "exact"),
  type: fc.option(fc.constantFrom("text/plain", "application/json", "a/b; charset=x", ""), {
    nil: undefined,
  }),
  accept: fc.option(fc.constantFrom("application/json", "text/html", "*/*"), { nil: undefined }),
  control: fc.option(fc.constantFrom(["x-echo-status", "202"], ["x-echo-header", "X-B:2"]), {
    nil: undefined,
  }),
});

/** fastLength on headers given as an object, with the raw list node:http2 would give beside it. */
function lengthOf(headers: Record<string, string>, maxBody: number): number {
  return fastLength(headers, Object.entries(headers).flat(), maxBody);
}

describe("HTTP/2 fast path", () => {
  const fast = sharedServer(ARGS);
  const slow = sharedServer([...ARGS, "--http-fast-path", "off"]);

  it(`answers as the compatibility path does, request for generated request (seed ${SEED})`, async (t) => {
    const a = session(fast.server.listening.http as number);
    const b = session(slow.server.listening.http as number);
    t.after(() => {
      a.close();
      b.close();
    });
    await fc.assert(
      fc.asyncProperty(request, async (q) => {
        // node:http2's client ends a GET or DELETE with its headers.
        const bodiless = q.method === "GET" || q.method === "DELETE";
        const body = bodiless || q.size === 0 ? undefined : bytes(q.size, q.fill);
        if (body !== undefined && q.brace) body[0] = 0x7b;
        const headers: Record<string, string> = {};
        if (q.length === "exact" && body !== undefined)
          headers["content-length"] = String(body.length);
        if (q.type !== undefined) headers["content-type"] = q.type;
        if (q.accept !== undefined) headers.accept = q.accept;
        if (q.control !== undefined) headers[q.control[0]] = q.control[1];
        const [x, y] = await Promise.all([
          call(a, q.path, q.method, body, headers),
          call(b, q.path, q.method, body, headers),
        ]);
        assert.deepEqual(comparable(x), comparable(y), JSON.stringify(q));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("takes a plain echo of 1 to 4,096 declared bytes, nothing else", () => {
    const h = (extra: Record<string, string>) => ({
      ":method": "POST",
      ":path": "/a",
      "content-length": "10",
      ...extra,
    });
    assert.equal(lengthOf(h({}), 8192), 10);
    assert.equal(lengthOf(h({ ":method": "PUT", "content-length": "4096" }), 8192), 4096);
    for (const [extra, why] of [
      [{ "content-length": "4097" }, "over 4 KiB: streamed back by the other path"],
      [{ "content-length": "0" }, "no body: a description"],
      [{ "content-length": "1e3" }, "not digits"],
      [{ ":method": "GET" }, "a description"],
      [{ ":path": "/?format=json" }, "asks for JSON"],
      [{ accept: "application/json" }, "asks for JSON"],
      [{ ":path": "/?echo_status=500" }, "response control"],
      [{ "x-echo-delay": "1" }, "response control"],
      [{ expect: "100-continue" }, "a 100 Continue first"],
      [{ ":path": "/post" }, "httpbin's"],
      [{ ":path": "*" }, "not origin-form"],
    ] as const) {
      const headers = h(extra);
      assert.equal(lengthOf(headers, 8192), -1, `${JSON.stringify(extra)}: ${why}`);
    }
    assert.equal(lengthOf(h({}), 5), -1, "over --max-body: 413 from the other path");
    const { "content-length": _, ...absent } = h({});
    assert.equal(lengthOf(absent, 8192), -1, "no length: gathered by the other path");
  });

  it("--request-timeout: a body that stops coming gets 408 from the sweep, and is counted", async (t) => {
    const s = await serve(t, [
      ...ARGS,
      "--header-timeout",
      "0.2",
      "--request-timeout",
      "0.3",
      "--admin",
      "0",
    ]);
    const c = session(s.listening.http as number);
    t.after(() => c.close());
    const t0 = performance.now();
    const req = c.request({ ":method": "POST", ":path": "/", "content-length": "10" });
    req.write("12345"); // and never the rest
    const reply = await replyOf(req, "close");
    const took = performance.now() - t0;
    assert.equal(reply.status, 408);
    assert.equal(reply.body.toString(), "request not complete within --request-timeout\n");
    assert.equal(reply.headers["x-content-type-options"], "nosniff");
    // Within the timeout and a quarter (the sweep's period); 10x that for a busy machine.
    assert.ok(took >= 290 && took < 3750, `${took} ms`);
    const { samples } = await scrape(s);
    assert.equal(sum(samples, "echoplex_limit_drops_total", 'limit="request-timeout"'), 1);
  });

  it("a stream ended by its session's protocol error is not answered, and is no fault of ours (regression: found by the h2c fuzz, seed 11)", async (t) => {
    const s = await serve(t, [...ARGS, "--admin", "0"]);
    // SETTINGS; POST / with content-length 4095 and a JSON type; then a DATA frame whose
    // 4,095 bytes are followed by garbage: the session fails while the stream waits for its body.
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const block = [0x83, 0x86, 0x41, 0x01, 0x61, 0x04, 0x01, 0x2f, 0x0f, 0x0d, 0x04]
      .concat([...Buffer.from("4095")])
      .concat([0x0f, 0x10, 0x10, ...Buffer.from("application/json")]);
    const head = Buffer.from([0, 0, block.length, 1, 4, 0, 0, 0, 1, ...block]);
    const data = Buffer.concat([Buffer.from([0, 0x0f, 0xff, 0, 0, 0, 0, 0, 1]), random(4095)]);
    const garbage = Buffer.from([0, 0, 5, 0x92, 2, 0xff, 7, 5, 0xa7, 7, 0xfb, 0xfb, 0x17]);
    const socket = connect(s.listening.http as number, HOST);
    socket.on("error", () => {});
    socket.resume();
    socket.end(Buffer.concat([Buffer.from(PREFACE), settings, head, data, garbage]));
    await new Promise((resolve) => socket.once("close", resolve));
    const { samples } = await scrape(s);
    assert.equal(sum(samples, "echoplex_errors_total", 'kind="internal"'), 0);
  });
});
