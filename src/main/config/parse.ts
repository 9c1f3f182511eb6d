/**
 * Value parsers for settings: each takes the raw string and where it came from (`--flag` or a
 * variable's name) and returns the value or throws ECHOPLEX_BAD_FLAG naming what is allowed.
 */
import { type EchoplexError, fail } from "../../errors.ts";
import { FAULT_FLAGS } from "../../fault-plans.ts";
import { FaultSpecError, parseFaults } from "../../fault-spec.ts";
import type { WorkSpec } from "../../messages.ts";
import { cidrsOf } from "../../proxy-trust.ts";

export type Parser<T> = (raw: string, source: string) => T;

export function bad(source: string, raw: string, allowed: string): EchoplexError {
  return fail("ECHOPLEX_BAD_FLAG", {
    subject: source,
    problem: `'${raw}' is not allowed; expected ${allowed}`,
  });
}

export function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw, source) => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    throw bad(source, raw, `one of ${values.join(", ")}`);
  };
}

export function onOff(raw: string, source: string): boolean {
  return oneOf(["on", "off"] as const)(raw, source) === "on";
}

/** Plain decimal digits: no sign, spaces, exponent, or 0x/0b/0o prefix (Number() takes all of those). */
const DIGITS = /^\d{1,15}$/;
/** Seconds: decimal digits with at most three decimals (millisecond precision). */
const SECONDS = /^\d{1,15}(\.\d{1,3})?$/;

export function integer(min: number, max: number): Parser<number> {
  return (raw, source) => {
    const n = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= min && n <= max)) throw bad(source, raw, `an integer from ${min} to ${max}`);
    return n;
  };
}

/** A port, or "off" (null): for the protocols that are off unless asked for. */
export function portOrOff(raw: string, source: string): number | null {
  if (raw === "off") return null;
  const n = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 0 && n <= 65_535)) {
    throw bad(source, raw, "a port from 0 to 65535 (0 picks a free one) or off");
  }
  return n;
}

/** Seconds from `min` to `max`, in whole milliseconds at most (1, 0.5, 2.125). */
export function seconds(max: number, min = 0): Parser<number> {
  return (raw, source) => {
    const n = SECONDS.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= min && n <= max)) {
      throw bad(
        source,
        raw,
        `a number of seconds from ${min} to ${max}, to the millisecond at most`,
      );
    }
    return n;
  };
}

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * A size in bytes: 65536, 64KiB, 1MiB, 1.5MB (KiB/MiB/GiB and bare k/m/g are powers of 1024); a
 * fraction only with a unit larger than a byte.
 */
export function bytes(min: number, max: number): Parser<number> {
  return (raw, source) => {
    const match = /^(\d{1,15})(\.\d{1,6})?([a-z]*)$/i.exec(raw);
    const unit = UNITS[match?.[3]?.toLowerCase() ?? "?"];
    const whole = match !== null && unit !== undefined && (unit > 1 || match[2] === undefined);
    const n = whole ? Math.round(Number(`${match[1]}${match[2] ?? ""}`) * unit) : Number.NaN;
    if (!(n >= min && n <= max)) {
      throw bad(source, raw, `a size from ${min} to ${max} bytes (e.g. 65536, 64KiB, 1MiB)`);
    }
    return n;
  };
}

export function host(raw: string, source: string): string {
  if (raw.trim() === "" || /\s/.test(raw)) throw bad(source, raw, "an IP address or host name");
  return raw;
}

export function path(raw: string, source: string): string {
  if (raw.trim() === "") throw bad(source, raw, "a file path");
  return raw;
}

/** --work: "none", or "sha256:ROUNDS" (hash each message ROUNDS times before echoing it). */
export function work(raw: string, source: string): WorkSpec | null {
  if (raw === "none") return null;
  const match = /^sha256:(\d+)$/.exec(raw);
  const rounds = Number(match?.[1]);
  if (match === null || rounds < 1 || rounds > 1_000_000) {
    throw bad(source, raw, "none or sha256:ROUNDS with ROUNDS from 1 to 1000000");
  }
  return { algorithm: "sha256", rounds };
}

/** --udp-trusted: as --proxy-trusted, or "none". */
export function udpTrusted(raw: string, source: string): string {
  return raw === "none" ? raw : cidrs(raw, source);
}

/** --proxy-trusted: CIDRs, loopback, private, comma-separated (proxy-trust.ts), kept as given. */
export function cidrs(raw: string, source: string): string {
  const list = cidrsOf(raw);
  if (!Array.isArray(list))
    throw bad(
      source,
      raw,
      `CIDR[,CIDR...] (e.g. 10.0.0.0/8,fd00::/8), loopback or private; '${list.bad}' is not one`,
    );
  return raw
    .split(",")
    .map((e) => e.trim())
    .join(",");
}

/**
 * --faults: off, or `KEY=LIST,...` (src/fault-spec.ts); delays are checked against --max-delay
 * once every setting is known (config.ts).
 */
export function faults(raw: string, source: string): string | null {
  if (raw === "off" || raw === "") return null;
  try {
    parseFaults(raw, Number.MAX_SAFE_INTEGER);
  } catch (err) {
    if (!(err instanceof FaultSpecError)) throw err;
    throw bad(
      source,
      raw,
      `KEY=VALUE[:PERCENT],... over status, delay, close and reset (${err.message})`,
    );
  }
  return raw;
}

/**
 * --tcp-faults, --udp-faults, --ws-faults: off, or `KEY=LIST,...` (src/fault-plans.ts); delays
 * are checked against --max-delay once every setting is known (config.ts).
 */
export function faultFlag(protocol: keyof typeof FAULT_FLAGS): Parser<string | null> {
  const { keys, parse } = FAULT_FLAGS[protocol];
  return (raw, source) => {
    if (raw === "off" || raw === "") return null;
    try {
      parse(raw, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (!(err instanceof FaultSpecError)) throw err;
      throw bad(source, raw, `KEY=VALUE[:PERCENT],... over ${keys.join(", ")} (${err.message})`);
    }
    return raw;
  };
}

/** --admin-token: off, or 16 to 256 printable ASCII characters (no spaces). */
export function token(raw: string, source: string): string | null {
  if (raw === "off") return null;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw))
    throw bad(
      source,
      raw.length > 0 ? "(hidden)" : raw,
      "off, or 16 to 256 printable characters, no spaces",
    );
  return raw;
}

/** --access-log: off (null), on (stdout), or a file path. */
export function accessLog(raw: string, source: string): string | null {
  if (raw === "off") return null;
  if (raw === "on") return raw;
  return path(raw, source);
}

/** A regular expression (at most 1,024 characters), or off (null). */
export function regexOrOff(raw: string, source: string): string | null {
  if (raw === "off") return null;
  try {
    if (raw.length > 1024) throw new Error("too long");
    new RegExp(raw);
  } catch {
    throw bad(source, raw.slice(0, 80), "off, or a regular expression of at most 1,024 characters");
  }
  return raw;
}

/** A seed for the fault dice, or off (null). */
export function seedOrOff(raw: string, source: string): number | null {
  if (raw === "off") return null;
  return integer(0, 4_294_967_295)(raw, source);
}
