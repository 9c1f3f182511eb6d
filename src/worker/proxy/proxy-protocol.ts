/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2), which a proxy or load balancer
 * (HAProxy, AWS NLB, nginx) sends first on a connection to say who its client is. parseProxy()
 * reads it from the first bytes of a connection: the client's and the proxy-side addresses and
 * the header's length, or that more bytes are needed, or why it is not a valid header.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface ProxyHeader {
  /** Bytes the header takes at the start of the stream. */
  readonly length: number;
  /** The original client, or null when the header carries none (v1 UNKNOWN, v2 LOCAL/UNSPEC). */
  readonly source: { readonly address: string; readonly port: number } | null;
}

/** Need more bytes; or the reason the stream does not start with a valid header. */
export type ProxyResult = ProxyHeader | "more" | { readonly invalid: string };

const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from("PROXY ");
/** v1: the longest header the spec allows, CRLF included. */
const V1_MAX = 107;
/** v2: the most address and TLV bytes taken after the 16-byte header. */
export const V2_MAX_EXTRA = 4096;

export function parseProxy(b: Buffer): ProxyResult {
  if (b.length === 0) return "more";
  if (b[0] === 0x50) return v1(b);
  if (b[0] === 0x0d) return v2(b);
  return { invalid: "the connection did not start with a PROXY protocol header" };
}

function v1(b: Buffer): ProxyResult {
  const n = Math.min(b.length, V1_PREFIX.length);
  if (b.compare(V1_PREFIX, 0, n, 0, n) !== 0) return { invalid: "not a PROXY v1 header" };
  const end = b.indexOf("\r\n");
  if (end < 0) return b.length >= V1_MAX ? { invalid: "a PROXY v1 header over 107 bytes" } : "more";
  if (end + 2 > V1_MAX) return { invalid: "a PROXY v1 header over 107 bytes" };
  const parts = b.toString("latin1", V1_PREFIX.length, end).split(" ");
  const length = end + 2;
  if (parts[0] === "UNKNOWN") return { length, source: null };
  if (parts.length !== 5) return { invalid: "a PROXY v1 header without 5 fields" };
  const [family, src, dst, sport, dport] = parts as [string, string, string, string, string];
  const ip = family === "TCP4" ? isIPv4 : family === "TCP6" ? isIPv6 : null;
  if (ip === null) return { invalid: `PROXY v1: unknown protocol '${family}'` };
  if (!ip(src) || !ip(dst)) return { invalid: `PROXY v1: an address that is not ${family}` };
  const port = (s: string) =>
    /^(0|[1-9]\d{0,4})$/.test(s) && Number(s) <= 65_535 ? Number(s) : -1;
  if (port(sport) < 0 || port(dport) < 0) return { invalid: "PROXY v1: a port out of range" };
  return { length, source: { address: src, port: port(sport) } };
}

function v2(b: Buffer): ProxyResult {
  const n = Math.min(b.length, V2_SIGNATURE.length);
  if (b.compare(V2_SIGNATURE, 0, n, 0, n) !== 0) return { invalid: "not a PROXY v2 signature" };
  if (b.length < 16) return "more";
  const verCmd = b[12] as number;
  if (verCmd >> 4 !== 2) return { invalid: "PROXY v2: version is not 2" };
  const command = verCmd & 0x0f;
  if (command > 1) return { invalid: "PROXY v2: command is neither LOCAL nor PROXY" };
  const extra = b.readUInt16BE(14);
  if (extra > V2_MAX_EXTRA) return { invalid: `PROXY v2: over ${V2_MAX_EXTRA} bytes of addresses` };
  if (b.length < 16 + extra) return "more";
  const length = 16 + extra;
  const family = b[13] as number;
  if (command === 0) return { length, source: null }; // LOCAL: the proxy's own connection
  if (family === 0x11) {
    if (extra < 12) return { invalid: "PROXY v2: TCP4 addresses cut short" };
    const address = [b[16], b[17], b[18], b[19]].join(".");
    return { length, source: { address, port: b.readUInt16BE(24) } };
  }
  if (family === 0x21) {
    if (extra < 36) return { invalid: "PROXY v2: TCP6 addresses cut short" };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(16 + i * 2).toString(16));
    return { length, source: { address: compactIPv6(groups), port: b.readUInt16BE(48) } };
  }
  // UNSPEC, UDP or UNIX families: no TCP client to report; the connection is still taken.
  return { length, source: null };
}

/** The usual text form: the longest run of zero groups (two or more) written as "::". */
function compactIPv6(groups: readonly string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}
