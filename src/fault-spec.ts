/**
 * Injected faults' grammar, as fortio's echo has it, shared by the primary (which checks
 * --faults at start) and the loops (which read requests' values): a value list is
 * `VALUE[:PERCENT][,VALUE:PERCENT...]`: `503:10,429:5` answers 503 to 10% of requests, 429 to 5%,
 * and the other 85% normally; a lone `VALUE` (no percent) is every request. The percents add up
 * to at most 100. A chance alone (`echo_close=5`) is a percent; `true` is 100. --faults is
 * `KEY=LIST,...` over status, delay, close and reset.
 */

/** Bad input: the 400's text (a request), or the usage error's (--faults). */
export class FaultSpecError extends Error {}

/** Values with the chance of each, as cumulative percents (`upTo[i]`: values[0..i] together). */
export interface Weighted<T> {
  readonly values: readonly T[];
  readonly upTo: readonly number[];
  /** The largest value's place (for bounds that must hold whatever the dice say). */
  readonly worst: T;
}

const PERCENT = /^(\d{1,3}(\.\d{1,6})?)%?$/;
const MAX_CHOICES = 32;

/** A percent from 0 to 100 (`5`, `5.3`, `5%`), or `true` (100) / `false` (0). */
export function percent(text: string, name: string): number {
  const t = text.trim();
  if (t === "true") return 100;
  if (t === "false") return 0;
  const m = PERCENT.exec(t);
  const p = m === null ? Number.NaN : Number(m[1]);
  if (!(p >= 0 && p <= 100))
    throw new FaultSpecError(`${name}: '${text}' is not a percent from 0 to 100`);
  return p;
}

/**
 * `VALUE[:PERCENT],...` with each VALUE through `parse`; `compare` orders values for `worst`.
 * Throws FaultSpecError naming `name` for anything else.
 */
export function weighted<T>(
  text: string,
  name: string,
  parse: (value: string) => T,
  compare: (a: T, b: T) => number,
): Weighted<T> {
  const parts = text.split(",");
  if (parts.length > MAX_CHOICES)
    throw new FaultSpecError(`${name}: ${parts.length} choices, at most ${MAX_CHOICES}`);
  const values: T[] = [];
  const upTo: number[] = [];
  let sum = 0;
  for (const part of parts) {
    const colon = part.lastIndexOf(":");
    if (colon < 0 && parts.length > 1)
      throw new FaultSpecError(`${name}: '${part}' needs its percent (VALUE:PERCENT) in a list`);
    const value = parse((colon < 0 ? part : part.slice(0, colon)).trim());
    sum += colon < 0 ? 100 : percent(part.slice(colon + 1), name);
    if (sum > 100 + 1e-9) throw new FaultSpecError(`${name}: '${text}' adds up to over 100%`);
    values.push(value);
    upTo.push(sum);
  }
  let worst = values[0] as T;
  for (const v of values) if (compare(v, worst) > 0) worst = v;
  return { values, upTo, worst };
}

/** The value a roll in [0, 100) picks, or undefined: the rest of the requests, answered normally. */
export function pick<T>(w: Weighted<T>, roll: number): T | undefined {
  for (let i = 0; i < w.upTo.length; i++) if (roll < (w.upTo[i] as number)) return w.values[i];
  return undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

/** A duration: milliseconds (`200`), or with a unit (`150us`, `200ms`, `1.5s`); at most `maxMs`. */
export function durationMs(text: string, name: string, maxMs: number): number {
  const m = /^(\d{1,9}(?:\.\d{1,6})?)(us|µs|ms|s)?$/.exec(text);
  const ms = m === null ? Number.NaN : Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] as number);
  if (!(ms >= 0 && ms <= maxMs))
    throw new FaultSpecError(
      `${name}: '${text}' is not a duration from 0 to ${maxMs} ms (200, 200ms, 1.5s, 150us)`,
    );
  return ms;
}

export interface FaultPlan {
  readonly status: Weighted<number> | null;
  /** Milliseconds. */
  readonly delay: Weighted<number> | null;
  /** Percent of answers closed without an answer (HTTP/2: the stream reset). */
  readonly close: number;
  /** Percent of answers that reset the connection (TCP RST). */
  readonly reset: number;
}

export const KEYS = ["status", "delay", "close", "reset"] as const;
export type FaultKey = (typeof KEYS)[number];

const byValue = (a: number, b: number) => a - b;

/** A status, 100 to 599; of the 1xx, only 100, 102 and 103 (sent first, then a 200). */
function status(name: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d{3}$/.test(text) || n < 100 || n > 599)
      throw new FaultSpecError(`${name}: '${text}' is not a status from 100 to 599`);
    if (n < 200 && n !== 100 && n !== 102 && n !== 103)
      throw new FaultSpecError(
        `${name}: ${n} cannot be sent: of the 1xx answers, only 100, 102 and 103 (sent before a 200)`,
      );
    return n;
  };
}

export function statusList(text: string, name: string): Weighted<number> {
  return weighted(text, name, status(name), byValue);
}

export function delayList(text: string, name: string, maxMs: number): Weighted<number> {
  return weighted(text, name, (v) => durationMs(v, name, maxMs), byValue);
}

/**
 * A fault flag's text, `KEY=LIST,...`, split by key over `keys`: a list may itself hold commas
 * (`status=503:10,429:5,close=1`): a part without `=` goes on the list before it. Throws
 * FaultSpecError for an unknown or repeated key.
 */
export function splitSpec<K extends string>(text: string, keys: readonly K[]): Map<K, string> {
  const lists = new Map<K, string[]>();
  let current: string[] | undefined;
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      if (current === undefined) throw new FaultSpecError(`'${part}' is not KEY=VALUE`);
      current.push(part);
      continue;
    }
    const key = part.slice(0, eq).trim() as K;
    if (!keys.includes(key))
      throw new FaultSpecError(`unknown fault '${key}'; known: ${keys.join(", ")}`);
    if (lists.has(key)) throw new FaultSpecError(`${key} is given twice`);
    current = [part.slice(eq + 1)];
    lists.set(key, current);
  }
  return new Map([...lists].map(([k, parts]) => [k, parts.join(",")]));
}

/** --faults (HTTP): `KEY=LIST,...` over status, delay, close and reset. Throws FaultSpecError. */
export function parseFaults(text: string, maxDelayMs: number): FaultPlan {
  const lists = splitSpec(text, KEYS);
  const s = lists.get("status");
  const d = lists.get("delay");
  const c = lists.get("close");
  const r = lists.get("reset");
  return {
    status: s === undefined ? null : statusList(s, "status"),
    delay: d === undefined ? null : delayList(d, "delay", maxDelayMs),
    close: c === undefined ? 0 : percent(c, "close"),
    reset: r === undefined ? 0 : percent(r, "reset"),
  };
}
