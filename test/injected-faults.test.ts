/**
 * Faults on demand over HTTP (issue 25): weighted statuses and delays, close and reset, from a
 * request or --faults for every request; seeded dice that repeat; each fault counted. The
 * grammar is fortio's (src/fault-spec.ts): its parsers first, against generated lists, then real
 * servers over HTTP/1.1 and HTTP/2.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  durationMs,
  FaultSpecError,
  parseFaults,
  percent,
  pick,
  statusList,
} from "../src/fault-spec.ts";
import { Dice, diceFor } from "../src/worker/answers/injected.ts";
import { call, session } from "./helpers/h2.ts";
import { exchange, once, statuses } from "./helpers/http.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { serve, waitFor } from "./helpers/server.ts";
import { CA, TLS_FLAGS } from "./helpers/tls.ts";

const SEED = 20261206;

describe("the fault grammar", () => {
  it("reads fortio's lists: a lone value is every request, percents add up, the rest is normal", () => {
    const w = statusList("503:10,429:5.5", "s");
    assert.deepEqual(w.values, [503, 429]);
    assert.deepEqual(w.upTo, [10, 15.5]);
    assert.equal(pick(w, 0), 503);
    assert.equal(pick(w, 9.999), 503);
    assert.equal(pick(w, 10), 429);
    assert.equal(pick(w, 15.5), undefined, "the other 84.5% answer normally");
    assert.deepEqual(statusList("418", "s").upTo, [100]);
    assert.equal(percent("true", "c"), 100);
    assert.equal(percent("5%", "c"), 5);
    assert.equal(durationMs("150us", "d", 1000), 0.15);
    assert.equal(durationMs("1.5s", "d", 2000), 1500);
    assert.equal(durationMs("200", "d", 1000), 200, "a bare number is milliseconds, as before");
    const plan = parseFaults("status=503:10,429:5,delay=200ms:5,2s:1,close=1,reset=0.5", 5000);
    assert.deepEqual(plan.status?.values, [503, 429], "a list goes on past its commas");
    assert.deepEqual(plan.delay?.values, [200, 2000]);
    assert.equal(plan.delay?.worst, 2000);
    assert.deepEqual([plan.close, plan.reset], [1, 0.5]);
  });

  it("refuses what it cannot read with its own error, naming the key", () => {
    for (const [text, says] of [
      ["status=503:60,429:50", /adds up to over 100%/],
      ["status=503:10,429", /needs its percent/],
      ["status=700", /from 100 to 599/],
      ["status=101", /only 100, 102 and 103/],
      ["delay=3s", /from 0 to 2000 ms/],
      ["close=101", /percent from 0 to 100/],
      ["nope=1", /unknown fault 'nope'/],
      ["close=1,close=2", /given twice/],
      ["503:10", /not KEY=VALUE/],
    ] as const)
      assert.throws(
        () => parseFaults(text, 2000),
        (e) => e instanceof FaultSpecError && says.test(e.message),
        text,
      );
  });

  it(`parses every generated list it should, and throws nothing but its own error (seed ${SEED})`, () => {
    const value = fc.oneof(
      fc.integer({ min: 100, max: 599 }).map(String),
      fc.constantFrom("0", "x", "", "5e2", "200ms", " 503"),
    );
    const pct = fc.oneof(
      fc.integer({ min: 0, max: 60 }).map(String),
      fc.constantFrom("1.5", "10%", "-1", "x", ""),
    );
    const list = fc.array(fc.tuple(value, pct), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(list, (entries) => {
        const text = entries.map(([v, p]) => `${v}:${p}`).join(",");
        try {
          const w = statusList(text, "s");
          // What parsed is what was asked: values in range, cumulative percents within 100.
          assert.equal(w.values.length, entries.length);
          for (const v of w.values) assert.ok(v >= 100 && v <= 599);
          assert.ok((w.upTo.at(-1) as number) <= 100 + 1e-9);
          for (let i = 1; i < w.upTo.length; i++)
            assert.ok((w.upTo[i] as number) >= (w.upTo[i - 1] as number));
        } catch (err) {
          if (!(err instanceof FaultSpecError)) throw err;
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("seeded dice repeat; each worker's differ", () => {
    const rolls = (d: Dice) => Array.from({ length: 5 }, () => d.roll());
    assert.deepEqual(rolls(diceFor(7, 0)), rolls(diceFor(7, 0)));
    assert.notDeepEqual(rolls(diceFor(7, 0)), rolls(diceFor(7, 1)));
    for (const r of rolls(new Dice(1))) assert.ok(r >= 0 && r < 100);
  });
});

/** `n` requests asking `query` on connections of their own; their statuses in order. */
async function statusesOf(port: number, query: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await once(port, { path: `/?${query}` })).status);
  return out;
}

describe("faults over HTTP", () => {
  it("weighted statuses: each near its share, counted, and the same run after run with a seed", async (t) => {
    const args = ["--mode", "single", "--http", "0", "--fault-seed", "42"];
    const a = await serve(t, args);
    const b = await serve(t, args);
    const n = 400;
    const query = "echo_status=503:25,429:10";
    const first = await statusesOf(a.listening.http as number, query, n);
    const second = await statusesOf(b.listening.http as number, query, n);
    assert.deepEqual(first, second, "--fault-seed: the same decisions for the same requests");
    const count = (s: number) => first.filter((x) => x === s).length;
    // Binomial: within 4 standard deviations of n·p (fails by chance once in ~15,000 seeds).
    for (const [s, p] of [
      [503, 0.25],
      [429, 0.1],
      [200, 0.65],
    ] as const) {
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(count(s) - n * p) <= 4 * sd, `${s}: ${count(s)} of ${n}`);
    }
    const { samples } = await scrape(a);
    assert.equal(sum(samples, "echoplex_faults_total", 'kind="status"'), count(503) + count(429));
    assert.equal(sum(samples, "echoplex_faults_total", 'protocol="http2"'), 0);
  });

  it("--faults: every request gets them unless it asks otherwise (handoff, through its workers)", async (t) => {
    const server = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--http", "0"],
      ...["--faults", "status=503,delay=20ms"],
    ]);
    const port = server.listening.http as number;
    const plain = await once(port, { method: "POST", body: Buffer.from("hi") });
    assert.equal(plain.status, 503);
    assert.equal(String(plain.body), "hi", "the echo still answers, with the status asked");
    const own = await once(port, { path: "/?echo_status=201&echo_delay=0" });
    assert.equal(own.status, 201, "a request's own value wins over --faults");
    await waitFor("the workers' fault counts in /metrics", async () => {
      const { samples } = await scrape(server);
      const status = sum(samples, "echoplex_faults_total", 'kind="status"');
      const delay = sum(samples, "echoplex_faults_total", 'kind="delay"');
      return status === 2 && delay === 1 ? true : undefined;
    });
  });

  it("HTTP/1.1: close ends the connection without an answer, after its delay; reset is a TCP RST", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const port = server.listening.http as number;
    const get = (q: string) => `GET /?${q} HTTP/1.1\r\nHost: a\r\n\r\n`;
    const closed = await exchange(port, [get("echo_close=100&echo_delay=150")]);
    assert.equal(closed.closed, true);
    assert.equal(closed.text, "", "no answer at all");
    assert.ok(closed.ms >= 140, `closed after the delay (${closed.ms} ms)`);
    // Pipelined: the one before is answered, the faulty one and what follows are not.
    const piped = await exchange(port, [get("a") + get("echo_close=true") + get("b")]);
    assert.deepEqual(statuses(piped.text), [200]);
    const reset = await new Promise<string | undefined>((resolve) => {
      const { connect } = process.getBuiltinModule("node:net");
      const s = connect(port, "127.0.0.1", () => s.write(get("echo_reset=100")));
      s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code));
      s.on("close", () => resolve(undefined));
    });
    assert.equal(reset, "ECONNRESET");
    assert.equal((await once(port)).status, 200, "the server goes on");
  });

  it("HTTP/2: close resets the stream and the session goes on; reset ends the session", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0", "--http2", "on"]);
    const s = session(server.listening.http as number);
    t.after(() => s.destroy());
    const code = await new Promise<number>((resolve) => {
      const req = s.request({ ":path": "/?echo_close=100" });
      req.on("close", () => resolve(req.rstCode));
      req.on("error", () => {});
      req.resume();
    });
    assert.equal(code, 2, "RST_STREAM INTERNAL_ERROR");
    assert.equal((await call(s, "/?echo_status=503:100")).status, 503, "the session goes on");
    assert.equal((await call(s, "/?echo_status=x:1")).status, 400);
    const gone = new Promise<void>((resolve) => s.once("close", () => resolve()));
    s.request({ ":path": "/?x-ignored&echo_reset=100" }).on("error", () => {});
    await gone;
    const { samples } = await scrape(server);
    assert.equal(sum(samples, "echoplex_faults_total", 'protocol="http2",kind="close"'), 1);
    assert.equal(sum(samples, "echoplex_faults_total", 'protocol="http2",kind="reset"'), 1);
  });

  it("a bad value is a 400 naming it; --response-control off leaves only --faults", async (t) => {
    const server = await serve(t, ["--mode", "single", "--http", "0"]);
    const port = server.listening.http as number;
    for (const q of [
      "echo_status=503:60,500:50",
      "echo_delay=1m",
      "echo_close=x",
      "echo_reset=-1",
    ]) {
      const r = await once(port, { path: `/?${q}` });
      assert.equal(r.status, 400, q);
      assert.match(String(r.body), /^echo_(status|delay|close|reset): /, q);
    }
    const off = await serve(t, [
      ...["--mode", "single", "--http", "0", "--response-control", "off"],
      ...["--faults", "status=429"],
    ]);
    assert.equal(
      (await once(off.listening.http as number, { path: "/?echo_status=200" })).status,
      429,
    );
  });

  for (const mode of ["single", "handoff"])
    it(`over TLS (${mode}): close ends the connection without an answer, reset resets or closes it`, async (t) => {
      const server = await serve(t, [
        "--mode",
        mode,
        "--workers",
        "2",
        "--http",
        "0",
        ...TLS_FLAGS,
      ]);
      const { connect } = process.getBuiltinModule("node:tls");
      const ask = (q: string) =>
        new Promise<{ text: string; code: string | undefined }>((resolve) => {
          let text = "";
          const s = connect(
            {
              host: "127.0.0.1",
              port: server.listening.http as number,
              ca: CA,
              servername: "localhost",
            },
            () => s.write(`GET /?${q} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`),
          );
          s.on("data", (d: Buffer) => (text += d.toString("latin1")));
          s.on("error", (err: NodeJS.ErrnoException) => resolve({ text, code: err.code }));
          s.on("close", () => resolve({ text, code: undefined }));
        });
      const closed = await ask("echo_close=100");
      assert.equal(closed.text, "", "no answer");
      const reset = await ask("echo_reset=100");
      assert.equal(reset.text, "", "no answer");
      // A socket node:tls accepted itself has no TCP socket under it to reset: it is closed.
      if (mode === "handoff") assert.equal(reset.code, "ECONNRESET");
      assert.match((await ask("echo_status=201")).text, /^HTTP\/1\.1 201 /);
    });
});
