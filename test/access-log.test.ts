/**
 * The access log (issue 25, part 5): a JSON line per HTTP request (HTTP/1.1 and HTTP/2) and per
 * TCP echo or WebSocket connection, the client's address as PROXY protocol reported it, paths
 * left out by --access-log-ignore, and a log that drops lines rather than make the echo wait.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { WebSocket } from "ws";
import { type Echoplex, EchoplexError, type StartOptions, start } from "../src/index.ts";
import { echoThrough, HOST } from "./helpers/client.ts";
import { call, session } from "./helpers/h2.ts";
import { once } from "./helpers/http.ts";
import { waitFor } from "./helpers/server.ts";

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), "echoplex-access-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function server(t: TestContext, o: StartOptions): Promise<Echoplex> {
  const s = await start({ mode: "single", admin: 0, http: 0, ...o });
  t.after(() => s.stop(2000));
  return s;
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function metric(s: Echoplex, outcome: string): Promise<number> {
  const text = await (await fetch(`http://${HOST}:${s.ports.admin}/metrics`)).text();
  const m = new RegExp(
    `^echoplex_access_log_lines_total\\{worker="0",outcome="${outcome}"\\} (\\d+)$`,
    "m",
  ).exec(text);
  return Number(m?.[1] ?? Number.NaN);
}

describe("--access-log", () => {
  it("a line per request and per connection, in a file; --access-log-ignore leaves paths out", async (t) => {
    const file = join(dir(t), "access.log");
    const s = await server(t, { http2: true, accessLog: file, accessLogIgnore: "^/skip" });
    const http = s.ports.http as number;
    await once(http, { method: "POST", path: "/one?x=1", body: Buffer.from("hello") });
    await once(http, { path: "/skip/me" });
    await once(http, { path: "/two?echo_status=503" });
    const h2 = session(http);
    t.after(() => h2.close());
    await call(h2, "/three", "POST", Buffer.from("h2 body"));
    assert.equal(String(await echoThrough(s.ports.echo, Buffer.from("tcp bytes"))), "tcp bytes");
    const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
    await new Promise<void>((resolve) => {
      ws.on("open", () => ws.send("ws message"));
      ws.on("message", () => ws.close(1000));
      ws.on("close", () => resolve());
    });
    await waitFor("the lines", () => (lines(file).length >= 5 ? true : undefined));
    const got = lines(file);
    const http1 = got.filter((l) => l.kind === "http" && l.protocol === "http");
    assert.deepEqual(
      http1.map((l) => [l.method, l.path, l.status, l.in]),
      [
        ["POST", "/one", 200, 5],
        ["GET", "/two", 503, 0],
      ],
      "the /skip request is not there",
    );
    assert.equal(http1[0]?.out, 5);
    assert.equal(http1[0]?.remote, "127.0.0.1");
    assert.equal(http1[0]?.worker, 0);
    assert.ok(typeof http1[0]?.ms === "number" && typeof http1[0]?.time === "string");
    const h2line = got.find((l) => l.protocol === "http2");
    assert.deepEqual(
      [h2line?.method, h2line?.path, h2line?.status, h2line?.in, h2line?.out, h2line?.remote],
      ["POST", "/three", 200, 7, 7, "127.0.0.1"],
    );
    const tcp = got.find((l) => l.kind === "tcp");
    assert.deepEqual([tcp?.protocol, tcp?.in, tcp?.out], ["tcp", 9, 9]);
    const wsLine = got.find((l) => l.kind === "websocket");
    assert.deepEqual([wsLine?.path, wsLine?.code], ["/ws", 1000]);
    assert.equal(await metric(s, "written"), got.length);
  });

  it("two workers appending to one file: every line whole, none lost or interleaved", async (t) => {
    const file = join(dir(t), "access.log");
    const s = await start({ mode: "handoff", workers: 2, admin: 0, http: 0, accessLog: file });
    t.after(() => s.stop(2000));
    const http = s.ports.http as number;
    // Lines of ~3.5 KiB (a 3 KiB path), from connections the primary spreads over both workers,
    // 8 at a time: each worker's lines land in the file while the other's do.
    const path = (i: number) => `/${String(i).padStart(4, "0")}${"x".repeat(3000)}`;
    const n = 400;
    for (let i = 0; i < n; i += 8)
      await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          once(http, { method: "POST", path: path(i + k), body: Buffer.from("b") }),
        ),
      );
    await s.stop(2000);
    const got = lines(file).filter((l) => l.kind === "http");
    assert.equal(got.length, n, "one whole line per request");
    assert.deepEqual(
      got.map((l) => l.path as string).sort(),
      Array.from({ length: n }, (_, i) => path(i)),
      "every path whole",
    );
    assert.deepEqual(new Set(got.map((l) => l.worker)), new Set([0, 1]), "from both workers");
  });

  it("behind PROXY protocol: the address the header names", async (t) => {
    const file = join(dir(t), "access.log");
    const s = await server(t, { proxyProtocol: true, accessLog: file });
    const socket = connect({ host: HOST, port: s.ports.http as number });
    await new Promise<void>((resolve) => {
      socket.on("data", () => {
        socket.end();
        resolve();
      });
      socket.write("PROXY TCP4 203.0.113.7 10.0.0.1 4444 80\r\nGET /p HTTP/1.1\r\nHost: a\r\n\r\n");
    });
    await waitFor("the line", () => lines(file).find((l) => l.path === "/p"));
    const line = lines(file).find((l) => l.path === "/p");
    assert.deepEqual([line?.remote, line?.remotePort], ["203.0.113.7", 4444]);
  });

  it("a log that is not taken drops lines and counts them; the echo does not wait", async (t) => {
    const fifo = join(dir(t), "fifo");
    execFileSync("mkfifo", [fifo]);
    // A reader that never reads: the pipe fills, then every write would wait.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let open = true;
    const release = () => {
      if (open) closeSync(reader);
      open = false;
    };
    t.after(release);
    const s = await server(t, { accessLog: fifo });
    // Lines of ~4 KiB (the path): 1 MiB of buffer and the pipe's 64 KiB hold ~270 of them, so
    // 400 requests overflow it whatever the machine's speed.
    const path = `/${"x".repeat(4000)}`;
    const http = s.ports.http as number;
    for (let i = 0; i < 400; i++) assert.equal((await once(http, { path })).status, 200);
    const dropped = await metric(s, "dropped");
    assert.ok(dropped > 0, `${dropped} lines dropped`);
    // The drain does not wait on a log nobody reads (a sync flush would block here for good).
    const t0 = performance.now();
    await s.stop(500);
    assert.ok(performance.now() - t0 < 15_000, "stopped");
    release();
  });

  it("refuses a file it cannot append to, and a bad pattern, before starting", async () => {
    for (const [o, message] of [
      [
        { accessLog: "/proc/nope/access.log" },
        /--access-log \/proc\/nope\/access.log: cannot append to it/,
      ],
      [{ accessLogIgnore: "(" }, /accessLogIgnore/],
    ] as const) {
      const err = await start(o).then(
        (s) => s.stop().then(() => assert.fail("started")),
        (e: unknown) => e,
      );
      assert.ok(err instanceof EchoplexError && err.code === "ECHOPLEX_BAD_OPTION", String(err));
      assert.match(err.message, message);
    }
  });

  it("a process that ends before its log file opened ends cleanly (regression: found by the config fuzz)", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "echoplex-al-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const module = new URL("../src/worker/loop/access-log.ts", import.meta.url).href;
    // pino's exit hook flushed a file sonic-boom had not opened yet: a stack trace at exit.
    const script = `import { AccessLog } from ${JSON.stringify(module)};
      const counts = { lines: 0, dropped: 0 };
      new AccessLog(${JSON.stringify(join(dir, "a.log"))}, null, 0, counts);
      new AccessLog(${JSON.stringify(join(dir, "gone", "b.log"))}, null, 1, counts);
      console.log(counts.dropped);
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.equal(r.stderr, "", "nothing thrown at exit");
    assert.equal(r.status, 0);
    const out = r.stdout;
    assert.equal(out.trim(), "1", "the file that cannot be opened: its lines dropped, counted");
  });
});
