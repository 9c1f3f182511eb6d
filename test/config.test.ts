import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { EchoplexError } from "../src/errors.ts";
import { parseCommand } from "../src/main/config.ts";

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
});
