import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { EchoplexError } from "../src/errors.ts";
import { parseCommand, SETTINGS } from "../src/main/config.ts";

function config(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const c = parseCommand(argv, env);
  assert.equal(c.kind, "run");
  return c.kind === "run" ? c.config : assert.fail();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EchoplexError ? err.code : "not an EchoplexError";
  }
  return undefined;
}

describe("config", () => {
  it("has the documented defaults", () => {
    assert.deepEqual(config([]), {
      mode: "handoff",
      workers: availableParallelism(),
      balance: "least-connections",
      spill: true,
      host: "127.0.0.1",
      port: 7007,
      drainTimeout: 10,
      logLevel: "info",
      http: null,
      udp: null,
      udpRate: 1000,
      maxBody: 1024 ** 2,
      maxMessage: 1024 ** 2,
      headerTimeout: 10,
      wsCompression: false,
      tlsCert: null,
      tlsKey: null,
      work: null,
      offload: 0,
    });
  });

  it("takes flags over variables over defaults", () => {
    const env = { ECHOPLEX_PORT: "9000", ECHOPLEX_WORKERS: "3", ECHOPLEX_HOST: "::1" };
    const c = config(["--port", "9001", "--drain-timeout", "0.5"], env);
    assert.equal(c.port, 9001);
    assert.equal(c.workers, 3);
    assert.equal(c.host, "::1");
    assert.equal(c.drainTimeout, 0.5);
  });

  it("ignores empty variables", () => {
    assert.equal(config([], { ECHOPLEX_PORT: "" }).port, 7007);
  });

  it("runs single mode with one worker whatever --workers says", () => {
    assert.equal(config(["--mode", "single", "--workers", "4"]).workers, 1);
  });

  it("turns spill off with --spill off", () => {
    assert.equal(config(["--spill", "off"]).spill, false);
    assert.equal(config([], { ECHOPLEX_SPILL: "on" }).spill, true);
  });

  it("accepts --flag=value", () => {
    assert.equal(config(["--port=0"]).port, 0);
  });

  it("rejects bad values with ECHOPLEX_BAD_FLAG and unknown flags with ECHOPLEX_UNKNOWN_FLAG", () => {
    assert.equal(
      codeOf(() => parseCommand(["--workers", "-1"], {})),
      "ECHOPLEX_BAD_FLAG",
    );
    assert.equal(
      codeOf(() => parseCommand(["--workers", "1e3"], {})),
      undefined,
      "1e3 is the integer 1000",
    );
    assert.equal(
      codeOf(() => parseCommand(["--port", " "], {})),
      "ECHOPLEX_BAD_FLAG",
    );
    assert.equal(
      codeOf(() => parseCommand([], { ECHOPLEX_MODE: "fast" })),
      "ECHOPLEX_BAD_FLAG",
    );
    assert.equal(
      codeOf(() => parseCommand(["--help=yes"], {})),
      "ECHOPLEX_BAD_FLAG",
    );
    assert.equal(
      codeOf(() => parseCommand(["-x"], {})),
      "ECHOPLEX_UNKNOWN_FLAG",
    );
  });

  it("answers --help and --version before validating the rest", () => {
    assert.equal(parseCommand(["--help", "--port", "1"], {}).kind, "help");
    assert.equal(parseCommand(["-v"], { ECHOPLEX_PORT: "bad" }).kind, "version");
  });

  it("reads sizes, ports that may be off, and the work spec", () => {
    assert.equal(config(["--max-body", "64KiB"]).maxBody, 65_536);
    assert.equal(config(["--max-body", "1.5MB"]).maxBody, 1_500_000);
    assert.equal(config(["--max-message", "2m"]).maxMessage, 2 * 1024 ** 2);
    assert.equal(config(["--max-body", "0"]).maxBody, 0);
    assert.equal(config(["--http", "0"]).http, 0);
    assert.equal(config(["--udp", "off"], { ECHOPLEX_UDP: "9000" }).udp, null);
    assert.deepEqual(config(["--work", "sha256:40"]).work, { algorithm: "sha256", rounds: 40 });
    assert.equal(config(["--work", "none"]).work, null);
    assert.equal(config(["--work", "sha256:2", "--offload", "3"]).offload, 3);
    assert.equal(config(["--ws-compression", "on"]).wsCompression, true);
    assert.equal(
      codeOf(() => parseCommand(["--port", "0", "--http", "0"], {})),
      undefined,
      "two free ports are two different ports",
    );
  });

  it("every setting is in the README's flag table, with its variable", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const lines = readme.split("\n");
    for (const setting of SETTINGS) {
      const row = lines.find(
        (line) => line.startsWith(`| \`--${setting.flag}`) && line.includes(`| \`${setting.env}\``),
      );
      assert.ok(row, `README has a row for --${setting.flag} naming ${setting.env}`);
    }
  });
});
