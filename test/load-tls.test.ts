/**
 * The load client over TLS (--tls, --insecure, issue 14): every protocol that runs over TCP loads
 * echoplex's TLS ports and checks every byte; the certificate is checked unless --insecure says
 * not to (a private CA through NODE_EXTRA_CA_CERTS); a handshake that fails, TLS against a plain
 * port and a plain client against a TLS port are one line and exit 1, not a report of nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LoadOptions, runLoad } from "../src/load/run.ts";
import { BASE_LOAD, runLoadCli } from "./helpers/load.ts";
import { serve, sharedServer } from "./helpers/server.ts";
import { TLS, TLS_FLAGS } from "./helpers/tls.ts";

const base: LoadOptions = { ...BASE_LOAD, tls: true, insecure: true };

const CLEAN = [0, 0, 0];

describe("load client over TLS against echoplex", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--http2", "on", ...TLS_FLAGS],
  ]);
  const echo = () => shared.server.port;
  const http = () => shared.server.listening.http as number;

  for (const [protocol, port, extra] of [
    ["tcp", echo, { pipeline: 4 }],
    ["tcp", echo, { churn: true }],
    ["tcp", echo, { rate: 400 }],
    ["ws", http, { size: 5000 }],
    ["http2", http, { pipeline: 4 }],
  ] as const) {
    it(`${protocol} ${JSON.stringify(extra)}: every message back intact, and the report says TLS`, async () => {
      const r = await runLoad({ ...base, protocol, port: port(), ...extra });
      assert.ok(r.messages > 0, JSON.stringify(r));
      assert.equal(r.tls, true);
      assert.deepEqual([r.errors, r.timeouts, r.mismatches], CLEAN, JSON.stringify(r));
    });
  }

  it("http (autocannon) with --tls --insecure, from the command line", async () => {
    const r = await runLoadCli([
      ...["--protocol", "http", "--tls", "--insecure", "--port", String(http())],
      ...["--duration", "0.5", "--warmup", "0", "--connections", "2", "--json"],
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json?.tls, true);
    assert.ok((r.json?.messages as number) > 0);
    assert.deepEqual([r.json?.errors, r.json?.mismatches], [0, 0]);
  });

  it("checks the certificate: trusted through NODE_EXTRA_CA_CERTS, it runs", async () => {
    const r = await runLoadCli(
      [...["--tls", "--port", String(echo()), "--duration", "0.3", "--warmup", "0", "--json"]],
      { ...process.env, NODE_EXTRA_CA_CERTS: TLS.cert },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok((r.json?.messages as number) > 0);
  });

  for (const protocol of ["tcp", "ws", "http2"]) {
    it(`${protocol}: a self-signed certificate without --insecure is ECHOPLEX_TLS_FAILED, one line, exit 1`, async () => {
      const port = protocol === "tcp" ? echo() : http();
      const r = await runLoadCli([
        ...["--tls", "--protocol", protocol, "--port", String(port), "--duration", "0.3"],
        ...["--warmup", "0"],
      ]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /^echoplex-load: TLS to .*self-signed.*--insecure.*\[ECHOPLEX_TLS_FAILED\]\n$/,
      );
    });
  }

  it("a plain client against the TLS port: ECHOPLEX_CONNECT_FAILED, saying to add --tls", async () => {
    const r = await runLoadCli([
      ...["--port", String(echo()), "--duration", "0.3", "--warmup", "0", "--json"],
    ]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.json?.messages, 0, "the report is printed first");
    assert.match(r.stderr, /add --tls.*\[ECHOPLEX_CONNECT_FAILED\]\n$/);
  });
});

describe("load client over TLS: what cannot work", () => {
  it("TLS against a plain port: ECHOPLEX_TLS_FAILED, exit 1", async (t) => {
    const s = await serve(t, ["--mode", "single"]);
    const r = await runLoadCli([
      ...["--tls", "--insecure", "--port", String(s.port), "--duration", "0.3", "--warmup", "0"],
    ]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /\[ECHOPLEX_TLS_FAILED\]\n$/);
  });

  for (const args of [
    ["--insecure"],
    ["--protocol", "http", "--tls"],
    ["--protocol", "udp", "--tls", "--insecure"],
  ]) {
    it(`${args.join(" ")}: one line, ECHOPLEX_BAD_FLAG, exit 2`, async () => {
      const r = await runLoadCli([...args, "--port", "9", "--duration", "0.2"]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /\[ECHOPLEX_BAD_FLAG\]\n$/);
    });
  }
});
