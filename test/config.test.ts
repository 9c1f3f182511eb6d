import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EchoplexError } from "../src/errors.ts";
import { type Config, parseCommand } from "../src/main/config/config.ts";
import { asFile } from "../src/main/config/config-file.ts";

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
      backlog: 4096,
      maxConnections: 0,
      idleTimeout: 0,
      admin: 9464,
      adminHost: "127.0.0.1",
      adminToken: null,
      accessLog: null,
      accessLogIgnore: null,
      drainTimeout: 10,
      drainDelay: 0,
      startTimeout: 30,
      logLevel: "info",
      http: null,
      udp: null,
      udpRate: 1000,
      udpTrusted: "loopback",
      maxBody: 1024 ** 2,
      maxMessage: 1024 ** 2,
      headerTimeout: 10,
      requestTimeout: 60,
      httpBuffer: 64 * 1024 ** 2,
      handshakeTimeout: 10,
      wsCompression: false,
      httpFastPath: true,
      http2: false,
      responseControl: true,
      maxDelay: 60,
      maxStreaming: 10_000,
      unsafeResponses: false,
      faults: null,
      faultSeed: null,
      tcpFaults: null,
      udpFaults: null,
      wsFaults: null,
      httpbin: true,
      cors: false,
      proxyProtocol: false,
      proxyTrusted: "loopback,private",
      tlsCert: null,
      tlsKey: null,
      tlsCa: null,
      tlsClientCert: "off",
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
    // Number() reads all of these as integers; only plain decimal digits are documented.
    for (const raw of ["1e3", "0x1F90", "0b101", "0o17", " 12 ", "12 ", "+12", "12.0", "1_000"]) {
      assert.equal(
        codeOf(() => parseCommand(["--workers", raw], {})),
        "ECHOPLEX_BAD_FLAG",
        `--workers '${raw}'`,
      );
      assert.equal(
        codeOf(() => parseCommand(["--port", raw], {})),
        "ECHOPLEX_BAD_FLAG",
      );
      assert.equal(
        codeOf(() => parseCommand(["--http", raw], {})),
        "ECHOPLEX_BAD_FLAG",
      );
    }
    for (const raw of [" 1", "1 ", "1e1", "0x10", "1.0001", "-1", "Infinity", "NaN", "1."]) {
      assert.equal(
        codeOf(() => parseCommand(["--header-timeout", raw], {})),
        "ECHOPLEX_BAD_FLAG",
        `--header-timeout '${raw}'`,
      );
    }
    for (const raw of [" 1MiB", "1 MiB", "1.5", "1.5b", "1e6", "0x100"]) {
      assert.equal(
        codeOf(() => parseCommand(["--max-body", raw], {})),
        "ECHOPLEX_BAD_FLAG",
        `--max-body '${raw}'`,
      );
    }
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

  describe("--config FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "echoplex-config-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    it("sets what flags and variables do not, with flags > variables > file", () => {
      const path = file(
        "ok.json",
        JSON.stringify({
          port: 9000,
          workers: 3,
          http: 8080,
          udp: null,
          maxBody: "64KiB",
          spill: false,
          work: "sha256:7",
        }),
      );
      const c = config(["--config", path, "--workers", "5"], { ECHOPLEX_HTTP: "8081" });
      assert.equal(c.port, 9000, "from the file");
      assert.equal(c.workers, 5, "the flag wins");
      assert.equal(c.http, 8081, "the variable wins");
      assert.equal(c.udp, null);
      assert.equal(c.maxBody, 65_536);
      assert.equal(c.spill, false);
      assert.deepEqual(c.work, { algorithm: "sha256", rounds: 7 });
      assert.equal(
        config([], { ECHOPLEX_CONFIG: path }).port,
        9000,
        "ECHOPLEX_CONFIG names it too",
      );
    });

    it("reads back what --print-config prints", () => {
      const printed = parseCommand(["--print-config", "--http", "0", "--work", "sha256:3"], {});
      assert.equal(printed.kind, "print-config");
      const path = file(
        "printed.json",
        JSON.stringify(asFile((printed as { config: Config }).config)),
      );
      assert.deepEqual(config(["--config", path]), (printed as { config: Config }).config);
    });

    it("reads back what --print-config prints with the admin port off (found by fuzzing)", () => {
      // "admin": null was refused as "cannot be off": its default is a port, yet off is allowed.
      const printed = asFile(config(["--admin", "off"]));
      assert.equal(printed.admin, null);
      const file = join(dir, "admin-off.json");
      writeFileSync(file, JSON.stringify(printed));
      assert.equal(config(["--config", file]).admin, null);
    });

    it("names the file, the key and what is allowed when something is wrong", () => {
      const cases: [string, RegExp][] = [
        ['{"prot": 1}', /unknown key 'prot'; known keys: mode,/],
        ['{"port": 70000}', /: port: '70000' is not allowed; expected an integer from 0 to 65535/],
        ['{"port": null}', /: port: null is not allowed/],
        ['{"mode": ["single"]}', /: mode: expected a string, number, boolean or null/],
        ['{"spill": "maybe"}', /: spill: 'maybe' is not allowed; expected one of on, off/],
        ["[1, 2]", /expected a JSON object of settings/],
        ["{port: 1}", /not JSON/],
      ];
      for (const [i, [text, message]] of cases.entries()) {
        const path = file(`bad${i}.json`, text);
        try {
          parseCommand(["--config", path], {});
          assert.fail(`accepted ${text}`);
        } catch (err) {
          assert.ok(err instanceof EchoplexError, String(err));
          assert.equal(err.code, "ECHOPLEX_BAD_CONFIG", text);
          assert.match(err.message, message);
          assert.ok(err.message.startsWith(`--config ${path}`), err.message);
        }
      }
      assert.equal(
        codeOf(() => parseCommand(["--config", join(dir, "missing.json")], {})),
        "ECHOPLEX_BAD_CONFIG",
      );
    });
  });
});
