/**
 * Faults below HTTP (issue 25, part 2): --tcp-faults, --udp-faults and --ws-faults, their grammar
 * (src/fault-plans.ts) against generated specs, then each kind on a real server started through
 * the library (in this process for single mode, so its timers can be counted), the shares the
 * load client sees, and the dice that repeat with --fault-seed.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { WebSocket } from "ws";
import {
  closeCode,
  parseTcpFaults,
  parseUdpFaults,
  parseWsFaults,
  sizeBytes,
  TCP_KEYS,
  UDP_KEYS,
  WS_KEYS,
} from "../src/fault-plans.ts";
import { FaultSpecError } from "../src/fault-spec.ts";
import { type Echoplex, EchoplexError, type StartOptions, start } from "../src/index.ts";
import { load } from "../src/load/index.ts";
import { HOST, open } from "./helpers/client.ts";
import { waitFor } from "./helpers/server.ts";
import { CA, TLS } from "./helpers/tls.ts";

const SEED = 20261206;

async function server(t: TestContext, o: StartOptions): Promise<Echoplex> {
  const s = await start({ mode: "single", admin: 0, ...o });
  t.after(() => s.stop(2000));
  return s;
}

async function faults(s: Echoplex, protocol: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${HOST}:${s.ports.admin}/metrics`)).text();
  const out: Record<string, number> = {};
  const re = new RegExp(
    `^echoplex_faults_total\\{.*protocol="${protocol}",kind="([^"]+)"\\} (\\d+)$`,
    "gm",
  );
  for (const m of text.matchAll(re))
    out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  return out;
}

/** What a TCP connection gets back for `payload` (then the client's FIN): bytes, and how it ended. */
function outcome(
  socket: Socket,
  payload: Buffer,
): Promise<{ got: Buffer; how: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const done = (how: string) =>
      resolve({ got: Buffer.concat(got), how, ms: performance.now() - t0 });
    socket.on("data", (d: Buffer) => got.push(d));
    socket.on("end", () => done("fin"));
    socket.on("error", (err: NodeJS.ErrnoException) => done(err.code ?? "error"));
    socket.end(payload);
  });
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("the fault grammars below HTTP", () => {
  it("reads each flag's keys, lists and units", () => {
    const tcp = parseTcpFaults(
      "reset=20,close=1.5,delay=200ms:10,1s:5,stall=2s:5,close-after=1KiB:10,16:5",
      5000,
    );
    assert.equal(tcp.reset, 20);
    assert.equal(tcp.close, 1.5);
    assert.deepEqual(tcp.delay?.values, [200, 1000]);
    assert.deepEqual(tcp.stall?.upTo, [5]);
    assert.deepEqual(tcp.closeAfter?.values, [1024, 16]);
    const udp = parseUdpFaults("drop=10,duplicate=5,truncate=5,delay=150us:10", 1000);
    assert.deepEqual(
      [udp.drop, udp.duplicate, udp.truncate, udp.delay?.values[0]],
      [10, 5, 5, 0.15],
    );
    const ws = parseWsFaults("close=1011:5,4000:1,drop=10,delay=1s", 1000);
    assert.deepEqual(ws.close?.values, [1011, 4000]);
    assert.deepEqual(ws.delay?.upTo, [100], "a lone value is every message");
    assert.equal(sizeBytes("16k", "s"), 16384);
    assert.equal(closeCode("1000", "c"), 1000);
  });

  it("refuses what it cannot read, naming the key and what is allowed", () => {
    const bad: [() => unknown, RegExp][] = [
      [
        () => parseTcpFaults("drop=5", 1000),
        /unknown fault 'drop'; known: reset, close, delay, stall, close-after/,
      ],
      [() => parseTcpFaults("stall=3s", 2000), /stall: '3s' is not a duration from 0 to 2000 ms/],
      [() => parseTcpFaults("close-after=2GiB:5", 2000), /close-after: '2GiB' is not a size/],
      [() => parseTcpFaults("reset=101", 2000), /reset: '101' is not a percent/],
      [() => parseUdpFaults("drop=60,drop=1", 2000), /drop is given twice/],
      [
        () => parseWsFaults("close=1006:5", 2000),
        /close: '1006' is not a close code a server sends/,
      ],
      [() => parseWsFaults("close=1005", 2000), /1005/],
      [() => parseWsFaults("close=1011:60,4000:50", 2000), /adds up to over 100%/],
    ];
    for (const [f, message] of bad)
      assert.throws(f, (e: unknown) => e instanceof FaultSpecError && message.test(e.message));
  });

  it(`generated specs from each grammar parse, or throw only its own error (seed ${SEED})`, () => {
    const pct = fc.oneof(
      fc.integer({ min: 0, max: 120 }).map(String),
      fc.constantFrom("0.5", "true", "false", "5%", "-1", "x"),
    );
    const dur = fc.oneof(
      fc.integer({ min: 0, max: 3000 }).map(String),
      fc.constantFrom("150us", "20ms", "1.5s", "3s", "ms", "-5"),
    );
    const size = fc.oneof(
      fc.integer({ min: 0, max: 5000 }).map(String),
      fc.constantFrom("1KiB", "16k", "1MiB", "2GiB", "1.5k"),
    );
    const code = fc.oneof(
      fc.integer({ min: 990, max: 5010 }).map(String),
      fc.constantFrom("1005", "1006", "1015"),
    );
    const listOf = (v: fc.Arbitrary<string>) =>
      fc.oneof(
        v,
        fc
          .array(
            fc.tuple(v, pct).map(([a, p]) => `${a}:${p}`),
            { minLength: 1, maxLength: 4 },
          )
          .map((l) => l.join(",")),
      );
    const value: Record<string, fc.Arbitrary<string>> = {
      reset: pct,
      close: pct,
      drop: pct,
      duplicate: pct,
      truncate: pct,
      delay: listOf(dur),
      stall: listOf(dur),
      "close-after": listOf(size),
    };
    const spec = (keys: readonly string[], closeIsCode: boolean) =>
      fc
        .uniqueArray(fc.constantFrom(...keys, "bogus"), { minLength: 1, maxLength: keys.length })
        .chain((ks) =>
          fc
            .tuple(
              ...ks.map((k) =>
                (k === "close" && closeIsCode ? listOf(code) : (value[k] ?? pct)).map(
                  (v) => `${k}=${v}`,
                ),
              ),
            )
            .map((p) => p.join(",")),
        );
    const cases: [fc.Arbitrary<string>, (s: string) => unknown][] = [
      [spec(TCP_KEYS, false), (s) => parseTcpFaults(s, 2000)],
      [spec(UDP_KEYS, false), (s) => parseUdpFaults(s, 2000)],
      [spec(WS_KEYS, true), (s) => parseWsFaults(s, 2000)],
    ];
    for (const [arb, parse] of cases)
      fc.assert(
        fc.property(arb, (s) => {
          try {
            parse(s);
          } catch (e) {
            assert.ok(e instanceof FaultSpecError, `${s}: ${e}`);
          }
        }),
        { seed: SEED, numRuns: 400 },
      );
  });

  it("the flags are checked at start: bad grammar, delays past --max-delay, with --offload", async () => {
    const refused = async (o: StartOptions, message: RegExp) => {
      const err = await start(o).then(
        (s) => s.stop().then(() => assert.fail("started")),
        (e: unknown) => e,
      );
      assert.ok(err instanceof EchoplexError && err.code === "ECHOPLEX_BAD_OPTION", String(err));
      assert.match(err.message, message);
    };
    await refused(
      { tcpFaults: "reset=x" },
      /tcpFaults.*over reset, close, delay, stall, close-after/,
    );
    await refused({ udpFaults: "delay=3s", maxDelay: 2 }, /--udp-faults delay=3s.*--max-delay 2 s/);
    await refused({ wsFaults: "close=1006" }, /wsFaults.*close code/);
    await refused(
      { tcpFaults: "delay=1ms", work: "sha256:1", offload: 1 },
      /--tcp-faults, --offload: do not go together/,
    );
  });
});

describe("--tcp-faults", () => {
  it("reset and close at the first read; stall from accept; close-after cuts the echo", async (t) => {
    const hello = Buffer.from("hello, faults");
    const get = async (tcpFaults: string) => {
      const s = await server(t, { tcpFaults });
      return outcome(await open(s.ports.echo), hello);
    };
    const reset = await get("reset=100");
    assert.deepEqual([reset.how, reset.got.length], ["ECONNRESET", 0]);
    const closed = await get("close=100");
    assert.deepEqual([closed.how, closed.got.length], ["fin", 0]);
    const cut = await get("close-after=5:100");
    assert.deepEqual([cut.how, String(cut.got)], ["fin", "hello"]);
    const s = await server(t, { tcpFaults: "stall=300ms:100" });
    const socket = await open(s.ports.echo);
    const t0 = performance.now();
    const echoed = await new Promise<Buffer>((resolve) => {
      socket.once("data", resolve);
      socket.write(hello);
    });
    assert.ok(performance.now() - t0 >= 250, "nothing before the stall is over");
    assert.deepEqual(echoed, hello, "then the echo as usual");
    socket.destroy();
    const counts = await faults(s, "tcp");
    assert.equal(counts.stall, 1);
  });

  it("delay: each read later, in order, to the FIN; the timers go with their clients", async (t) => {
    const s = await server(t, { tcpFaults: "delay=150ms:100", maxDelay: 30 });
    const socket = await open(s.ports.echo);
    socket.setNoDelay(true);
    const got: Buffer[] = [];
    const ended = new Promise<number>((resolve) => {
      socket.on("data", (d: Buffer) => got.push(d));
      socket.on("end", () => resolve(performance.now()));
    });
    const t0 = performance.now();
    for (const word of ["one ", "two ", "three"]) {
      socket.write(word);
      await new Promise((r) => setTimeout(r, 20));
    }
    socket.end();
    const at = await ended;
    assert.equal(String(Buffer.concat(got)), "one two three", "in order, nothing lost");
    assert.ok(at - t0 >= 150, "at least one delay");
    // Long stalls on clients that go: no timer of theirs stays.
    const before = timers();
    const s2 = await server(t, { tcpFaults: "stall=20s:100", maxDelay: 30 });
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open(s2.ports.echo)));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(timers() >= before + 20, "a stall timer each");
    for (const c of sockets) c.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      timers() < before + 20,
      `the stalls' timers went with their clients (${timers() - before} left)`,
    );
  });

  it("reset=20 fails 20% of churned connections as the load client sees them, through handoff workers", async (t) => {
    const s = await server(t, {
      mode: "handoff",
      workers: 2,
      tcpFaults: "reset=20",
      faultSeed: SEED,
    });
    const r = await load({
      port: s.ports.echo,
      churn: true,
      connections: 8,
      duration: 1.5,
      warmup: 0.2,
    });
    const attempts = r.messages + r.failed_in_window;
    const sd = Math.sqrt(attempts * 0.2 * 0.8);
    assert.ok(attempts > 300, `${attempts} connections`);
    assert.ok(
      Math.abs(r.failed_in_window - attempts * 0.2) <= 4 * sd,
      `${r.failed_pct}% of ${attempts} failed`,
    );
    assert.equal(r.mismatches, 0);
    await waitFor("every reset in /metrics", async () =>
      ((await faults(s, "tcp")).reset ?? 0) >= r.failed_in_window ? true : undefined,
    );
  });

  it("--fault-seed: the same connections get the same fates, run after run", async (t) => {
    const fates = async () => {
      const s = await server(t, { tcpFaults: "reset=30,close=30", faultSeed: 7 });
      const out: string[] = [];
      for (let i = 0; i < 40; i++)
        out.push((await outcome(await open(s.ports.echo), Buffer.from("x"))).how);
      await s.stop();
      return out;
    };
    const first = await fates();
    assert.deepEqual(await fates(), first);
    assert.ok(new Set(first).size === 2 && first.includes("ECONNRESET") && first.includes("fin"));
  });
});

describe("--udp-faults", () => {
  const exchange = (
    port: number,
    payload: Buffer,
    waitMs: number,
  ): Promise<{ got: Buffer[]; ms: number }> =>
    new Promise((resolve) => {
      const c = createSocket("udp4");
      const got: Buffer[] = [];
      let first = Number.NaN;
      const t0 = performance.now();
      c.on("message", (m) => {
        if (got.length === 0) first = performance.now() - t0;
        got.push(m);
      });
      c.send(payload, port, HOST);
      setTimeout(() => {
        c.close();
        resolve({ got, ms: first });
      }, waitMs);
    });

  it("duplicate, truncate and delay on each datagram; close() clears what waits", async (t) => {
    const payload = Buffer.from("0123456789");
    const twice = await server(t, { udp: 0, udpRate: 0, udpFaults: "duplicate=100" });
    assert.deepEqual((await exchange(twice.ports.udp as number, payload, 150)).got.map(String), [
      "0123456789",
      "0123456789",
    ]);
    const cut = await server(t, { udp: 0, udpRate: 0, udpFaults: "truncate=100" });
    assert.deepEqual((await exchange(cut.ports.udp as number, payload, 150)).got.map(String), [
      "01234",
    ]);
    const late = await server(t, { udp: 0, udpRate: 0, udpFaults: "delay=200ms:100" });
    const r = await exchange(late.ports.udp as number, payload, 600);
    assert.equal(r.got.length, 1);
    assert.ok(r.ms >= 190, `answered after ${r.ms} ms`);
    assert.deepEqual(await faults(late, "udp"), { delay: 1, drop: 0, duplicate: 0, truncate: 0 });
    const held = await server(t, { udp: 0, udpRate: 0, udpFaults: "delay=20s:100", maxDelay: 30 });
    const before = timers();
    await exchange(held.ports.udp as number, payload, 50);
    assert.equal(timers(), before + 1, "the delayed answer's timer");
    await held.stop();
    assert.equal(timers(), before, "gone with the socket");
  });

  it("drop=10 loses 10% of the load client's datagrams", async (t) => {
    const s = await server(t, {
      mode: "handoff",
      workers: 2,
      udp: 0,
      udpRate: 0,
      udpFaults: "drop=10",
    });
    const r = await load({
      port: s.ports.udp as number,
      protocol: "udp",
      connections: 8,
      pipeline: 4,
      duration: 1.5,
      warmup: 0.2,
      timeout: 0.05,
    });
    const attempts = r.messages + r.failed_in_window;
    const sd = Math.sqrt(attempts * 0.1 * 0.9);
    assert.ok(attempts > 1000, `${attempts} datagrams`);
    assert.ok(
      Math.abs(r.failed_in_window - attempts * 0.1) <= 4 * sd,
      `${r.failed_pct}% of ${attempts} lost`,
    );
  });
});

describe("--ws-faults", () => {
  const connect = (s: Echoplex): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${HOST}:${s.ports.http}/ws`);
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
    });

  it("close with the code asked in place of the echo; drop answers nothing but pings", async (t) => {
    const closing = await server(t, { http: 0, wsFaults: "close=4000:100" });
    const ws = await connect(closing);
    const code = await new Promise<number>((resolve) => {
      ws.once("close", resolve);
      ws.send("hi");
    });
    assert.equal(code, 4000);
    const dropping = await server(t, { http: 0, wsFaults: "drop=100" });
    const quiet = await connect(dropping);
    t.after(() => quiet.terminate());
    let echoed = 0;
    quiet.on("message", () => echoed++);
    quiet.send("one");
    await new Promise<void>((resolve) => {
      quiet.once("pong", () => resolve());
      quiet.ping();
    });
    assert.equal(echoed, 0);
    assert.deepEqual(await faults(dropping, "websocket"), { close: 0, drop: 1, delay: 0 });
  });

  it("delay keeps the order: messages after a delayed one wait behind it", async (t) => {
    const s = await server(t, { http: 0, wsFaults: "delay=100ms:30", faultSeed: SEED });
    const ws = await connect(s);
    t.after(() => ws.terminate());
    const n = 30;
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      ws.on("message", (m) => {
        got.push(String(m));
        if (got.length === n) resolve();
      });
    });
    for (let i = 0; i < n; i++) ws.send(String(i));
    await all;
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => String(i)),
    );
    assert.ok(((await faults(s, "websocket")).delay ?? 0) > 0, "some were delayed");
  });
});

describe("faults below HTTP over TLS and behind PROXY protocol", () => {
  const PROXY = "PROXY TCP4 203.0.113.5 10.0.0.1 4444 443\r\n";
  const secure = { tlsCert: TLS.cert, tlsKey: TLS.key, proxyProtocol: true } as const;

  /** A TLS connection to `port` that sends a PROXY header first, in the clear. */
  async function proxiedTls(port: number): Promise<TLSSocket> {
    const raw = netConnect({ host: HOST, port });
    await once(raw, "connect");
    raw.write(PROXY);
    const tls = tlsConnect({ socket: raw, ca: CA, servername: "localhost" });
    await once(tls, "secureConnect");
    return tls;
  }

  it("--tcp-faults: close-after cuts the decrypted echo; reset ends the TLS connection", async (t) => {
    const cut = await server(t, { ...secure, tcpFaults: "close-after=5:100" });
    const a = await outcome(await proxiedTls(cut.ports.echo), Buffer.from("hello, faults"));
    assert.equal(String(a.got), "hello");
    const reset = await server(t, { ...secure, tcpFaults: "reset=100" });
    const b = await outcome(await proxiedTls(reset.ports.echo), Buffer.from("hello"));
    assert.equal(b.got.length, 0, `${b.how}: nothing echoed`);
    assert.deepEqual(await faults(reset, "tcp"), {
      reset: 1,
      close: 0,
      stall: 0,
      "close-after": 0,
      delay: 0,
    });
  });

  it("--ws-faults over WSS behind PROXY: the close code asked", async (t) => {
    const s = await server(t, { ...secure, http: 0, wsFaults: "close=4001:100" });
    const ws = new WebSocket(`wss://localhost:${s.ports.http}/ws`, [], {
      ca: CA,
      createConnection: () => {
        const raw = netConnect({ host: HOST, port: s.ports.http as number });
        raw.write(PROXY);
        return tlsConnect({ socket: raw, ca: CA, servername: "localhost" });
      },
    });
    await once(ws, "open");
    const code = await new Promise<number>((resolve) => {
      ws.once("close", (c: number) => resolve(c));
      ws.send("hi");
    });
    assert.equal(code, 4001);
  });
});
