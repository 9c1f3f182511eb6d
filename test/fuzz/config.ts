/**
 * Generated configurations: every setting's flag, variable and config-file key, with valid
 * values mutated and hostile ones (signs, exponents, hex, spaces, unicode digits, huge, empty,
 * wrong JSON types), unknown flags and positionals. Each must either be refused with a usage
 * code (exit 2) or give a config that says the same thing when printed and read back.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import fc from "fast-check";
import { EchoplexError, USAGE_ERRORS } from "../../src/errors.ts";
import { type Config, parseCommand, SETTINGS } from "../../src/main/config/config.ts";
import { asFile } from "../../src/main/config/config-file.ts";

const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  mode: ["single", "handoff", "threads"],
  balance: ["round-robin"],
  work: ["none", "sha256:1", "sha256:40", "sha256:1000000"],
  maxBody: ["0", "64KiB", "1.5MB", "1m"],
  httpBuffer: ["64KiB", "1GiB"],
  logLevel: ["silent", "warn"],
  host: ["127.0.0.1", "::1", "localhost"],
  tlsCert: ["/nonexistent.pem"],
  tlsKey: ["/nonexistent.pem"],
  proxyTrusted: [
    "loopback",
    "private,loopback",
    "10.0.0.0/8",
    "192.0.2.7",
    "fd00::/8,127.0.0.1/32",
    "::ffff:10.0.0.1/128",
    " 10.0.0.0/8 , private",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0/8",
    "fd00::/129",
    "10.0.0.0/8,",
    "Private",
    "0.0.0.0/0",
  ],
  // --udp-trusted: --proxy-trusted's grammar, and "none".
  udpTrusted: [
    "none",
    "loopback",
    "None",
    "none,loopback",
    "10.0.0.0/8,private",
    "::1/128",
    "127.0.0.1/33",
  ],
  requestTimeout: ["0", "10", "60"],
  faults: [
    "off",
    "status=503",
    "status=503:10,429:5,delay=200ms:5,2s:1,close=1,reset=0.5",
    "delay=1.5s:10",
    "delay=2m",
    "close=true",
    "status=503:60,429:50",
    "status=503:10,429",
    "status=099",
    "reset=101",
    "close=1,close=2",
    "status=",
    "=503",
    "status=503:10,,close=1",
  ],
  tcpFaults: [
    "off",
    "reset=20",
    "reset=20,close=5,delay=200ms:10,1s:5,stall=2s:5,close-after=1KiB:10,16:5",
    "stall=3s",
    "close-after=2GiB:5",
    "drop=5",
    "reset=60,reset=1",
    "delay=5ms:60,1ms:50",
  ],
  udpFaults: [
    "off",
    "drop=10",
    "drop=10,duplicate=5,truncate=5,delay=150us:10",
    "delay=9s",
    "truncate=x",
  ],
  wsFaults: [
    "off",
    "close=1011:5,4000:1,drop=10,delay=1s",
    "close=1006",
    "close=999:5",
    "drop=101",
  ],
  faultSeed: ["off", "0", "42", "4294967295", "4294967296"],
  accessLog: ["off", "on", "/tmp/echoplex-access.log", "/proc/nope/x.log", ""],
  accessLogIgnore: ["off", "^/(healthz|readyz)$", "(", "[", "a".repeat(1025)],
  adminToken: [
    "off",
    "0123456789abcdef",
    "short",
    "has a space in it",
    "x".repeat(257),
    "ü".repeat(16),
  ],
};
const HOSTILE = [
  "",
  " ",
  "0",
  "1",
  "-1",
  "+1",
  "1e3",
  "0x10",
  "0b1",
  "0o7",
  "1.5",
  "1.0001",
  ".5",
  "5.",
  "on",
  "off",
  "null",
  "NaN",
  "Infinity",
  "-0",
  "１２",
  "٣",
  "9".repeat(400),
  "1_000",
  "1,000",
  "1MiB",
  "64k",
  "8 KiB",
  "sha256:",
  "sha256:0",
  "sha256:1e3",
  "SHA256:1",
  "/",
  "\u0000",
  "a\nb",
  "65535",
  "65536",
  "86400",
  "86400.001",
  "0.001",
  "0.0001",
];

const setting = fc.constantFrom(...SETTINGS);
const raw = (key: string) =>
  fc.oneof(
    fc.constantFrom(...HOSTILE),
    fc.constantFrom(...(EXAMPLES[key] ?? ["0", "1", "10", "on"])),
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -1, max: 2 ** 32 }).map(String),
    // Seconds to the millisecond, and sizes with units.
    fc.integer({ min: 0, max: 100_000 }).map((ms) => String(ms / 1000)),
    fc
      .tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom("", "k", "KiB", "MB", "g"))
      .map(([n, unit]) => `${n}${unit}`),
    fc.double({ noNaN: false }).map(String),
  );
const fileValue = (key: string) =>
  fc.oneof(
    raw(key),
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e21, [], {}, [1]),
    fc.integer().map((n) => n as unknown),
  );

export interface ConfigCase {
  readonly flags: readonly (readonly [string, string, boolean])[];
  readonly env: Readonly<Record<string, string>>;
  readonly file: Readonly<Record<string, unknown>> | null;
  readonly extra: readonly string[];
}

export const configCases: fc.Arbitrary<ConfigCase> = fc.record({
  flags: fc.array(
    setting.chain((s) => fc.tuple(fc.constant(s.flag), raw(s.key), fc.boolean())),
    { maxLength: 5 },
  ),
  env: fc
    .array(
      setting.chain((s) => fc.tuple(fc.constant(s.env), raw(s.key))),
      { maxLength: 3 },
    )
    .map((pairs) => Object.fromEntries(pairs)),
  file: fc.option(
    fc
      .array(
        setting.chain((s) => fc.tuple(fc.constant(s.key as string), fileValue(s.key))),
        { maxLength: 4 },
      )
      .map((pairs) => Object.fromEntries(pairs)),
  ),
  extra: fc.array(
    fc.constantFrom("--nope", "positional", "--", "-x", "--help=1", "--print-config"),
    {
      maxLength: 1,
    },
  ),
});

/**
 * Parse a case: a Config, the usage error it was refused with, or null for --help/--version.
 * Anything else throws.
 */
export function parseCase(c: ConfigCase, dir: string): Config | EchoplexError | null {
  const argv = c.flags.flatMap(([flag, value, joined]) =>
    joined ? [`--${flag}=${value}`] : [`--${flag}`, value],
  );
  if (c.file !== null) {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(c.file));
    argv.push("--config", file);
  }
  try {
    const command = parseCommand([...argv, ...c.extra], c.env);
    return command.kind === "run" || command.kind === "print-config"
      ? command.config
      : (null as never);
  } catch (err) {
    if (err instanceof EchoplexError && USAGE_ERRORS.has(err.code)) return err;
    throw err;
  }
}

/** --print-config's output, read back as a --config file, is the same config. */
export function roundTrips(config: Config, dir: string): boolean {
  const file = join(dir, "printed.json");
  writeFileSync(file, JSON.stringify(asFile(config)));
  const again = parseCommand(["--config", file], {});
  return again.kind === "run" && JSON.stringify(again.config) === JSON.stringify(config);
}

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "echoplex-fuzz-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Start the single loop in this process with `config` (on 127.0.0.1, free ports for every
 * service, at most 2 offload threads) and stop it: it starts, or fails with an EchoplexError; nothing else.
 * A relative --access-log file is made in a folder of its own, removed after (in the working
 * directory, the generated names were left in the checkout: `npm run fuzz` left 77 there).
 */
export async function startsOrRefuses(config: Config): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "echoplex-fuzz-"));
  const log = config.accessLog;
  try {
    const accessLog = log === null || log === "on" || isAbsolute(log) ? log : join(dir, log);
    await startAndStop({ ...config, accessLog });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startAndStop(config: Config): Promise<void> {
  const { TOPOLOGIES } = await import("../../src/main/topologies/index.ts");
  const { createLogger } = await import("../../src/log.ts");
  const c: Config = {
    ...config,
    mode: "single",
    workers: 1,
    host: "127.0.0.1",
    port: 0,
    // Every service on, so that every setting reaches what it configures.
    http: 0,
    udp: 0,
    admin: null,
    offload: Math.min(config.offload, 2),
    logLevel: "silent",
  };
  try {
    const topology = await TOPOLOGIES.single(c, createLogger("silent"), () => {});
    await topology.stop(0);
  } catch (err) {
    if (!(err instanceof EchoplexError)) throw err;
  }
}
