/**
 * Faults below HTTP, in the grammar of fault-spec.ts (`KEY=VALUE[:PERCENT],...`, P a percent):
 *
 * - `--tcp-faults`: per connection, decided when it is accepted: `reset=P` (a TCP RST at its
 *   first read, nothing echoed), `close=P` (a FIN at its first read, nothing echoed),
 *   `stall=D:P` (nothing read or echoed for D from accept, then echo as usual),
 *   `close-after=SIZE:P` (a FIN once SIZE bytes went back: a cut answer); per read:
 *   `delay=D:P` (that read goes back D later; reading waits, so order is kept).
 * - `--udp-faults`, per datagram: `drop=P`, `duplicate=P` (answered twice), `truncate=P` (the
 *   first half of it goes back), `delay=D:P`.
 * - `--ws-faults`, per message: `close=CODE:P` (the connection closed with CODE instead of the
 *   echo), `drop=P`, `delay=D:P` (later messages wait behind it: order is kept).
 *
 * Shared by the primary, which checks the flags at start, and the loops, which roll the dice.
 */
import {
  durationMs,
  FaultSpecError,
  percent,
  splitSpec,
  type Weighted,
  weighted,
} from "./fault-spec.ts";

export interface TcpFaultPlan {
  readonly reset: number;
  readonly close: number;
  /** Milliseconds, per read. */
  readonly delay: Weighted<number> | null;
  /** Milliseconds, per connection. */
  readonly stall: Weighted<number> | null;
  /** Bytes, per connection. */
  readonly closeAfter: Weighted<number> | null;
}

export interface UdpFaultPlan {
  readonly drop: number;
  readonly duplicate: number;
  readonly truncate: number;
  readonly delay: Weighted<number> | null;
}

export interface WsFaultPlan {
  /** Close codes. */
  readonly close: Weighted<number> | null;
  readonly drop: number;
  readonly delay: Weighted<number> | null;
}

export const TCP_KEYS = ["reset", "close", "delay", "stall", "close-after"] as const;
export const UDP_KEYS = ["drop", "duplicate", "truncate", "delay"] as const;
export const WS_KEYS = ["close", "drop", "delay"] as const;

const byValue = (a: number, b: number) => a - b;
const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1024,
  kib: 1024,
  m: 2 ** 20,
  mib: 2 ** 20,
};
/** The largest close-after: a GiB (an answer cut later than that is not a test anybody runs). */
const MAX_SIZE = 2 ** 30;

/** A size in bytes: `1024`, `16k`, `16KiB`, `1MiB`; 0 to 1 GiB. */
export function sizeBytes(text: string, name: string): number {
  const m = /^(\d{1,10})([a-z]*)$/i.exec(text);
  const unit = SIZE_UNITS[m?.[2]?.toLowerCase() ?? "?"];
  const n = m === null || unit === undefined ? Number.NaN : Number(m[1]) * unit;
  if (!(n >= 0 && n <= MAX_SIZE))
    throw new FaultSpecError(`${name}: '${text}' is not a size from 0 to 1GiB (1024, 16KiB, 1MiB)`);
  return n;
}

/** A close code a server may send (RFC 6455 7.4): 1000-1003, 1007-1014, or 3000-4999. */
export function closeCode(text: string, name: string): number {
  const n = /^\d{4}$/.test(text) ? Number(text) : Number.NaN;
  const ok = (n >= 1000 && n <= 1014 && (n < 1004 || n > 1006)) || (n >= 3000 && n <= 4999);
  if (!ok)
    throw new FaultSpecError(
      `${name}: '${text}' is not a close code a server sends (1000-1003, 1007-1014, 3000-4999)`,
    );
  return n;
}

function chance(lists: Map<string, string>, key: string): number {
  const text = lists.get(key);
  return text === undefined ? 0 : percent(text, key);
}

function list(
  lists: Map<string, string>,
  key: string,
  parse: (value: string, name: string) => number,
): Weighted<number> | null {
  const text = lists.get(key);
  return text === undefined ? null : weighted(text, key, (v) => parse(v, key), byValue);
}

/** `durationMs` with its bound, as `list` takes it. */
const within =
  (maxMs: number) =>
  (value: string, name: string): number =>
    durationMs(value, name, maxMs);

/** --tcp-faults. Throws FaultSpecError. */
export function parseTcpFaults(text: string, maxDelayMs: number): TcpFaultPlan {
  const lists = splitSpec(text, TCP_KEYS);
  return {
    reset: chance(lists, "reset"),
    close: chance(lists, "close"),
    delay: list(lists, "delay", within(maxDelayMs)),
    stall: list(lists, "stall", within(maxDelayMs)),
    closeAfter: list(lists, "close-after", sizeBytes),
  };
}

/** --udp-faults. Throws FaultSpecError. */
export function parseUdpFaults(text: string, maxDelayMs: number): UdpFaultPlan {
  const lists = splitSpec(text, UDP_KEYS);
  return {
    drop: chance(lists, "drop"),
    duplicate: chance(lists, "duplicate"),
    truncate: chance(lists, "truncate"),
    delay: list(lists, "delay", within(maxDelayMs)),
  };
}

/** --ws-faults. Throws FaultSpecError. */
export function parseWsFaults(text: string, maxDelayMs: number): WsFaultPlan {
  const lists = splitSpec(text, WS_KEYS);
  return {
    close: list(lists, "close", closeCode),
    drop: chance(lists, "drop"),
    delay: list(lists, "delay", within(maxDelayMs)),
  };
}

/** Each fault flag below HTTP: its keys and its parser. */
export const FAULT_FLAGS = {
  tcp: { flag: "--tcp-faults", keys: TCP_KEYS, parse: parseTcpFaults },
  udp: { flag: "--udp-faults", keys: UDP_KEYS, parse: parseUdpFaults },
  websocket: { flag: "--ws-faults", keys: WS_KEYS, parse: parseWsFaults },
} as const;
