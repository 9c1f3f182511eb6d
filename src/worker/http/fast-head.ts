/**
 * The HTTP fast path's parser (docs/ARCHITECTURE.md, "HTTP fast path"): it recognises the one
 * request the fast path answers — an HTTP/1.1 POST, PUT or PATCH with a Content-Length body of
 * 1 to FAST_BODY_MAX bytes that asks for its body back — and nothing else. It never rejects: any
 * request outside that strict subset of RFC 9112 is "slow" and goes to node:http, which answers
 * or rejects it (with its own status) as it always did. So the fast path cannot accept what
 * node:http would refuse, nor read a request differently: where they could differ, node:http
 * decides.
 */
import { isHttpbinSegment } from "../httpbin/routes.ts";

/** Bodies up to this size take the fast path (node:http sends them in one write too). */
export const FAST_BODY_MAX = 4096;
/** A head longer than this goes to node:http (which answers 431 past its own limit). */
export const FAST_HEAD_MAX = 8192;

export type Head =
  /** The head is not complete in the bytes given. */
  | { readonly kind: "partial" }
  /** Not a request for the fast path: node:http takes the connection from here. */
  | { readonly kind: "slow" }
  | {
      readonly kind: "echo";
      /** Offset of the first body byte. */
      readonly end: number;
      /** Content-Length. */
      readonly length: number;
      /** The Content-Type value (without surrounding whitespace), or undefined. */
      readonly type: string | undefined;
      /** The client sent `Connection: close`. */
      readonly close: boolean;
    };

const PARTIAL: Head = { kind: "partial" };
const SLOW: Head = { kind: "slow" };
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/** RFC 9110 tchar. */
const TCHAR = bytesOf(
  "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);
/** origin-form request-target bytes we take (RFC 3986 pchar, "/" and "?"); others go slow. */
const TARGET = bytesOf(
  "-._~!$&'()*+,;=:@/?%0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);
const METHODS = ["POST ", "PUT ", "PATCH "].map((m) => Buffer.from(m, "latin1"));
const VERSION = Buffer.from(" HTTP/1.1\r\n", "latin1");

/**
 * Parse the request head starting at `start` in the bytes of `buf` before `end` (the body's limit
 * is `maxBody`). Nothing at or past `end` is read: `buf` may be a reused buffer.
 */
export function parseHead(buf: Buffer, start: number, end: number, maxBody: number): Head {
  const limit = Math.min(end, start + FAST_HEAD_MAX);
  let i = requestLine(buf, start, end, limit);
  if (i < 0) return i === -1 ? PARTIAL : SLOW;
  let length = -1;
  let type: string | undefined;
  let close = false;
  let connection = false;
  let host = false;
  for (;;) {
    if (i + 1 >= limit) return limit === end ? PARTIAL : SLOW;
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return SLOW;
      i += 2;
      break;
    }
    const nameStart = i;
    while (i < limit && TCHAR[buf[i] as number] === 1) i++;
    if (i >= limit) return limit === end ? PARTIAL : SLOW;
    if (buf[i] !== 0x3a || i === nameStart) return SLOW; // ':' (no space before it)
    const nameEnd = i++;
    while (i < limit && (buf[i] === SP || buf[i] === HTAB)) i++;
    const valueStart = i;
    let valueEnd = i;
    for (; i < limit; i++) {
      const c = buf[i] as number;
      if (c === CR) break;
      if (c === HTAB || c === SP) continue;
      if (c < 0x21 || c > 0x7e) return SLOW;
      valueEnd = i + 1;
    }
    if (i + 1 >= limit) return limit === end ? PARTIAL : SLOW;
    if (buf[i + 1] !== LF) return SLOW;
    i += 2;
    switch (known(buf, nameStart, nameEnd)) {
      case "content-length":
        if (length !== -1) return SLOW;
        length = digits(buf, valueStart, valueEnd);
        if (length < 1 || length > maxBody || length > FAST_BODY_MAX) return SLOW;
        break;
      case "content-type":
        if (type !== undefined) return SLOW;
        type = buf.toString("latin1", valueStart, valueEnd);
        break;
      case "connection": {
        if (connection) return SLOW;
        connection = true;
        const value = buf.toString("latin1", valueStart, valueEnd).toLowerCase();
        if (value === "close") close = true;
        else if (value !== "keep-alive") return SLOW;
        break;
      }
      case "accept":
        if (buf.toString("latin1", valueStart, valueEnd).includes("application/json")) return SLOW;
        break;
      case "host":
        host = true;
        break;
      case "slow":
        return SLOW;
    }
  }
  // node:http answers an HTTP/1.1 request without Host with 400 (found by the differential fuzz).
  if (length === -1 || !host) return SLOW;
  return { kind: "echo", end: i, length, type, close };
}

/**
 * Does the target in [from, to) start with one of httpbin's names (routes.ts)? Those are
 * node:http's path, --httpbin on or off. The root costs one byte's look; only a longer first
 * segment is made a string.
 */
function httpbinPath(buf: Buffer, from: number, to: number): boolean {
  let end = from + 1;
  while (end < to && buf[end] !== 0x2f && buf[end] !== 0x3f) end++;
  return end - from > 2 && isHttpbinSegment(buf.toString("latin1", from + 1, end));
}

/** After the request line (an offset), or -1 (partial) or -2 (slow). */
function requestLine(buf: Buffer, start: number, end: number, limit: number): number {
  let method: Buffer | undefined;
  for (const m of METHODS) {
    if (startsWith(buf, start, end, m)) {
      method = m;
      break;
    }
  }
  if (method === undefined) {
    // Too short to tell yet?
    if (end - start >= 6) return -2;
    for (const m of METHODS) if (isPrefix(buf, start, end, m)) return -1;
    return -2;
  }
  let i = start + method.length;
  if (i >= end) return -1;
  if (buf[i] !== 0x2f) return -2; // origin-form: "/"
  let query = -1;
  for (; i < limit && buf[i] !== SP; i++) {
    const c = buf[i] as number;
    if (TARGET[c] !== 1) return -2;
    if (c === 0x3f && query < 0) query = i;
  }
  if (i >= limit) return limit === end ? -1 : -2;
  if (httpbinPath(buf, start + method.length, i)) return -2;
  // ?format=json asks for the JSON description, echo_ for response control: node:http's path.
  if (query >= 0) {
    const q = buf.toString("latin1", query, i);
    if (q.includes("format=json") || q.includes("echo_")) return -2;
  }
  if (end - i < VERSION.length) return isPrefix(buf, i, end, VERSION) ? -1 : -2;
  return startsWith(buf, i, end, VERSION) ? i + VERSION.length : -2;
}

type Known =
  | "content-length"
  | "content-type"
  | "connection"
  | "accept"
  | "host"
  | "slow"
  | "other";

/** The headers that matter here, by name (case-insensitive); "slow" for those node must see. */
function known(buf: Buffer, start: number, end: number): Known {
  switch (end - start) {
    case 4:
      return named(buf, start, "host") ? "host" : "other";
    case 6:
      if (named(buf, start, "accept")) return "accept";
      return named(buf, start, "expect") ? "slow" : "other";
    case 7:
      return named(buf, start, "upgrade") || named(buf, start, "trailer") ? "slow" : "other";
    case 10:
      return named(buf, start, "connection") ? "connection" : "other";
    case 12:
      return named(buf, start, "content-type") ? "content-type" : "other";
    case 14:
      return named(buf, start, "content-length") ? "content-length" : "other";
    case 17:
      return named(buf, start, "transfer-encoding") ? "slow" : "other";
    default:
      // x-echo-*: response control (control.ts), node:http's path.
      return end - start > 7 && named(buf, start, "x-echo-") ? "slow" : "other";
  }
}

/** Do the bytes at `start` spell `lower`, ignoring ASCII case? */
function named(buf: Buffer, start: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    if (((buf[start + k] as number) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** A decimal of 1 to 15 digits, or -1. */
function digits(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let k = start; k < end; k++) {
    const d = (buf[k] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

// The two below compare a few bytes in a loop: Buffer#compare with offsets is a call into C++
// that checks four offsets first, and cost more than the rest of a request's parse (callgrind).
function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return end - at >= prefix.length && same(buf, at, prefix, prefix.length);
}

/** Are the bytes from `at` to `end` a prefix of `whole`? */
function isPrefix(buf: Buffer, at: number, end: number, whole: Buffer): boolean {
  return same(buf, at, whole, Math.min(end - at, whole.length));
}

/** Are `n` bytes of `buf` from `at` the first `n` of `other`? */
function same(buf: Buffer, at: number, other: Buffer, n: number): boolean {
  for (let k = 0; k < n; k++) if (buf[at + k] !== other[k]) return false;
  return true;
}

function bytesOf(chars: string): Uint8Array {
  const table = new Uint8Array(256);
  for (let k = 0; k < chars.length; k++) table[chars.charCodeAt(k)] = 1;
  return table;
}
