/** The command line: bad input gives one line with a code and the right exit status. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { CLI } from "../bench/lib/server.ts";
import { EchoplexError, USAGE_ERRORS } from "../src/errors.ts";
import { MODES, parseCommand, SETTINGS } from "../src/main/config/config.ts";
import { serve } from "./helpers/server.ts";
import { TLS } from "./helpers/tls.ts";

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr, carrying the code, naming `what`, and no stack trace. */
function assertOneLine(stderr: string, code: string, what: string): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got: ${stderr}`);
  assert.ok(lines[0]?.includes(`[${code}]`), stderr);
  assert.ok(lines[0]?.includes(what), `the line should name ${what}: ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe("cli", () => {
  const usage: [string[], string, string][] = [
    [["--mode", "nope"], "ECHOPLEX_BAD_FLAG", "--mode"],
    [["--workers", "0"], "ECHOPLEX_BAD_FLAG", "--workers"],
    [["--workers", "2.5"], "ECHOPLEX_BAD_FLAG", "--workers"],
    [["--port", "70000"], "ECHOPLEX_BAD_FLAG", "--port"],
    [["--port", "abc"], "ECHOPLEX_BAD_FLAG", "--port"],
    [["--port"], "ECHOPLEX_BAD_FLAG", "--port"],
    [["--host", ""], "ECHOPLEX_BAD_FLAG", "--host"],
    [["--balance", "random"], "ECHOPLEX_BAD_FLAG", "--balance"],
    [["--spill", "maybe"], "ECHOPLEX_BAD_FLAG", "--spill"],
    [["--drain-timeout", "-1"], "ECHOPLEX_BAD_FLAG", "--drain-timeout"],
    [["--log-level", "loud"], "ECHOPLEX_BAD_FLAG", "--log-level"],
    [["--http", "70000"], "ECHOPLEX_BAD_FLAG", "--http"],
    [["--udp", "on"], "ECHOPLEX_BAD_FLAG", "--udp"],
    [["--udp-rate", "-1"], "ECHOPLEX_BAD_FLAG", "--udp-rate"],
    [["--udp-trusted", "10.0.0.0/33"], "ECHOPLEX_BAD_FLAG", "--udp-trusted"],
    [["--max-body", "2GiB"], "ECHOPLEX_BAD_FLAG", "--max-body"],
    [["--max-body", "12xb"], "ECHOPLEX_BAD_FLAG", "--max-body"],
    [["--max-message", "0"], "ECHOPLEX_BAD_FLAG", "--max-message"],
    [["--header-timeout", "soon"], "ECHOPLEX_BAD_FLAG", "--header-timeout"],
    [["--ws-compression", "yes"], "ECHOPLEX_BAD_FLAG", "--ws-compression"],
    [["--work", "md5:3"], "ECHOPLEX_BAD_FLAG", "--work"],
    [["--work", "sha256:0"], "ECHOPLEX_BAD_FLAG", "--work"],
    [["--offload", "2"], "ECHOPLEX_BAD_FLAG", "--work"],
    [["--port", "8000", "--http", "8000"], "ECHOPLEX_BAD_FLAG", "--http"],
    [["--tls-cert", TLS.cert], "ECHOPLEX_BAD_FLAG", "--tls-key"],
    [
      ["--tls-cert", "/nonexistent.pem", "--tls-key", TLS.key],
      "ECHOPLEX_BAD_TLS",
      "/nonexistent.pem",
    ],
    [["--tls-cert", TLS.readme, "--tls-key", TLS.key], "ECHOPLEX_BAD_TLS", "--tls-cert"],
    [["--tls-cert", TLS.cert, "--tls-key", TLS.otherKey], "ECHOPLEX_BAD_TLS", "--tls-key"],
    [["--config", "/nonexistent.json"], "ECHOPLEX_BAD_CONFIG", "/nonexistent.json"],
    [["--backlog", "0"], "ECHOPLEX_BAD_FLAG", "--backlog"],
    [["--admin", "7007"], "ECHOPLEX_BAD_FLAG", "--admin"],
    [["--admin-host", ""], "ECHOPLEX_BAD_FLAG", "--admin-host"],
    [["--bogus"], "ECHOPLEX_UNKNOWN_FLAG", "--bogus"],
    [["stray"], "ECHOPLEX_UNKNOWN_FLAG", "stray"],
  ];
  // Checked in this process: parseCommand is all the CLI runs before it prints the error's
  // one line and exits with the status USAGE_ERRORS gives its code (both checked for real below).
  for (const [args, code, what] of usage) {
    it(`refuses ${args.join(" ") || "(empty)"}: ${code}, a usage error, naming ${what}`, () => {
      assert.throws(
        () => parseCommand(args, {}),
        (err: unknown) =>
          err instanceof EchoplexError &&
          err.code === code &&
          USAGE_ERRORS.has(err.code) &&
          err.message.includes(what) &&
          !err.message.includes("\n"),
      );
    });
  }
  // The real process for one of each code: exit 2, one line on stderr, no stack trace.
  for (const args of [["--mode", "nope"], ["--bogus"], ["--config", "/nonexistent.json"]]) {
    const [, code, what] = usage.find(([a]) => a.join(" ") === args.join(" ")) ?? [];
    it(`exits 2 with one line for ${args.join(" ")}`, () => {
      const r = run(args);
      assert.equal(r.status, 2);
      assertOneLine(r.stderr, code as string, what as string);
    });
  }

  it("names the variable when an ECHOPLEX_* value is bad", () => {
    const r = run([], { ECHOPLEX_PORT: "seven" });
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, "ECHOPLEX_BAD_FLAG", "ECHOPLEX_PORT");
  });

  it("takes a setting from its variable, and prefers the flag when both are given", async (t) => {
    const fromEnv = await serve(t, [], { ECHOPLEX_MODE: "single" });
    assert.equal(fromEnv.listening.mode, "single");
    const fromFlag = await serve(t, ["--mode", "threads", "--workers", "2"], {
      ECHOPLEX_MODE: "single",
      ECHOPLEX_WORKERS: "1",
    });
    assert.equal(fromFlag.listening.mode, "threads");
    assert.equal(fromFlag.listening.workers, 2);
  });

  it("--help lists every flag with its variable, and exits 0", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0);
    for (const s of SETTINGS) {
      assert.ok(r.stdout.includes(`--${s.flag}`), s.flag);
      assert.ok(r.stdout.includes(s.env), s.env);
    }
  });

  it("--print-config prints the effective configuration as JSON and exits 0", () => {
    const r = run(["--print-config", "--mode", "single", "--http", "8080"], {
      ECHOPLEX_PORT: "9000",
    });
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(printed.mode, "single");
    assert.equal(printed.workers, 1);
    assert.equal(printed.port, 9000);
    assert.equal(printed.http, 8080);
    assert.equal(printed.work, null);
  });

  it("--version prints the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const r = run(["--version"]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  for (const mode of MODES) {
    it(`exits 1 with one line when the port is in use (${mode})`, async (t) => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      t.after(() => blocker.close());
      const port = (blocker.address() as { port: number }).port;
      const r = run(["--mode", mode, "--workers", "2", "--port", String(port)]);
      assert.equal(r.status, 1);
      assertOneLine(r.stderr, "ECHOPLEX_PORT_IN_USE", String(port));
    });
  }

  for (const [flag, mode] of [
    ["--http", "single"],
    ["--http", "handoff"],
    ["--http", "reuseport"],
    ["--udp", "single"],
    ["--udp", "handoff"],
    ["--admin", "single"],
    ["--admin", "handoff"],
  ] as const) {
    it(`exits 1 with one line naming ${flag} when its port is in use (${mode})`, async (t) => {
      const udp = flag === "--udp";
      const blocker = udp ? createSocket("udp4") : createServer();
      await new Promise<void>((resolve) =>
        udp
          ? (blocker as DgramSocket).bind(0, "127.0.0.1", resolve)
          : (blocker as Server).listen(0, "127.0.0.1", resolve),
      );
      t.after(() => blocker.close());
      const port = (blocker.address() as { port: number }).port;
      const r = run(["--mode", mode, "--workers", "2", "--port", "0", flag, String(port)]);
      assert.equal(r.status, 1);
      assertOneLine(r.stderr, "ECHOPLEX_PORT_IN_USE", `${flag} 127.0.0.1:${port}`);
    });
  }

  it("exits 1 with one line when the address is not this machine's", () => {
    const r = run(["--mode", "single", "--host", "192.0.2.1", "--port", "0"]);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr, "ECHOPLEX_BAD_ADDRESS", "192.0.2.1");
  });
});
