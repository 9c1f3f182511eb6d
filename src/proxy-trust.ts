/**
 * --proxy-trusted: the peers whose PROXY protocol headers are believed. A spec is a comma list
 * of CIDRs and two names: `loopback` (127.0.0.0/8, ::1) and `private` (RFC 1918, unique local
 * fc00::/7, link-local 169.254.0.0/16 and fe80::/10), the default being both: where a load
 * balancer in front of echoplex is. Anyone else could claim any client address.
 */
import { BlockList, isIP } from "node:net";

const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  private: [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
  ],
};

/** The spec's entries as CIDRs (names expanded), or the first bad entry's text. */
export function cidrsOf(spec: string): string[] | { bad: string } {
  const out: string[] = [];
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    const named = NAMED[entry];
    if (named !== undefined) {
      out.push(...named);
      continue;
    }
    const slash = entry.indexOf("/");
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const bits =
      slash < 0
        ? max
        : /^\d{1,3}$/.test(entry.slice(slash + 1))
          ? Number(entry.slice(slash + 1))
          : -1;
    if (family === 0 || bits < 0 || bits > max) return { bad: entry };
    out.push(`${address}/${bits}`);
  }
  return out;
}

/** Is `address` (a socket's remoteAddress) inside the list? */
export type Trust = (address: string | undefined) => boolean;

/** The check for a spec cidrsOf accepted. */
export function trustOf(spec: string): Trust {
  const cidrs = cidrsOf(spec);
  if (!Array.isArray(cidrs)) throw new Error(`--proxy-trusted: '${cidrs.bad}' is not a CIDR`);
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split("/") as [string, string];
    list.addSubnet(address, Number(bits), isIP(address) === 6 ? "ipv6" : "ipv4");
  }
  return (address) => {
    if (address === undefined) return false;
    // An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d.
    const v4 = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4;
    if (v4) return list.check(address.slice(7), "ipv4");
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
  };
}
