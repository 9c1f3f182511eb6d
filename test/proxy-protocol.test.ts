/**
 * The PROXY protocol (--proxy-protocol on, issue 14): the header parser against HAProxy's spec
 * (v1 and v2, every family, cut anywhere, generated and mutated), and a real server behind it:
 * the header consumed and never echoed, the client it names in the JSON description, a
 * connection without one closed and counted, and the same in front of TLS.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { parseProxy } from "../src/worker/proxy/proxy-protocol.ts";
import { HOST } from "./helpers/client.ts";
import { exchange } from "./helpers/http.ts";
import { scrape, sum } from "./helpers/metrics.ts";
import { serve, sharedServer, waitFor } from "./helpers/server.ts";
import { CA, TLS_FLAGS } from "./helpers/tls.ts";

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, addresses: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(addresses.length, 2);
  return Buffer.concat([SIG, head, addresses]);
}

function v2tcp4(src: string, sport: number, tlv = Buffer.alloc(0)): Buffer {
  const a = Buffer.alloc(12);
  src.split(".").forEach((o, i) => {
    a[i] = Number(o);
  });
  a.set([10, 0, 0, 1], 4);
  a.writeUInt16BE(sport, 8);
  a.writeUInt16BE(443, 10);
  return v2(1, 0x11, Buffer.concat([a, tlv]));
}

/** The usual text form of an IPv6 address (as URL prints it), to compare two spellings. */
const canonical6 = (a: string) => new URL(`http://[${a}]/`).hostname.slice(1, -1);

describe("PROXY header parser", () => {
  it("v1: TCP4, TCP6, UNKNOWN", () => {
    const four = "PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n";
    assert.deepEqual(parseProxy(Buffer.from(`${four}rest`)), {
      length: four.length,
      source: { address: "192.0.2.1", port: 5555 },
    });
    const six = "PROXY TCP6 2001:db8::1 ::1 65535 443\r\n";
    assert.deepEqual(parseProxy(Buffer.from(six)), {
      length: six.length,
      source: { address: "2001:db8::1", port: 65535 },
    });
    const unknown = "PROXY UNKNOWN whatever\r\n";
    assert.deepEqual(parseProxy(Buffer.from(unknown)), { length: unknown.length, source: null });
  });

  it("v2: TCP4 with TLVs, TCP6, LOCAL, UNSPEC", () => {
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]);
    assert.deepEqual(
      parseProxy(Buffer.concat([v2tcp4("203.0.113.7", 4242, tlv), Buffer.from("x")])),
      {
        length: 16 + 12 + tlv.length,
        source: { address: "203.0.113.7", port: 4242 },
      },
    );
    const six = Buffer.alloc(36);
    six.writeUInt16BE(0x2001, 0);
    six.writeUInt16BE(0x0db8, 2);
    six.writeUInt16BE(0x0001, 14);
    six.writeUInt16BE(8080, 32);
    assert.deepEqual(parseProxy(v2(1, 0x21, six)), {
      length: 52,
      source: { address: "2001:db8::1", port: 8080 },
    });
    assert.deepEqual(parseProxy(v2(0, 0x00, Buffer.alloc(0))), { length: 16, source: null });
    assert.deepEqual(parseProxy(v2(1, 0x00, Buffer.alloc(0))), { length: 16, source: null });
  });

  for (const [what, bytes] of [
    ["no header at all", Buffer.from("GET / HTTP/1.1\r\n")],
    ["a v1 header over 107 bytes", Buffer.from(`PROXY TCP4 ${"1".repeat(120)}\r\n`)],
    ["v1, unknown protocol", Buffer.from("PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n")],
    ["v1, not an IPv4 address", Buffer.from("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n")],
    ["v1, IPv6 said TCP4", Buffer.from("PROXY TCP4 ::1 ::1 1 2\r\n")],
    ["v1, port 65536", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n")],
    ["v1, port with a leading zero", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 080 2\r\n")],
    ["v1, four fields", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 80\r\n")],
    ["v2, version 1", Buffer.concat([SIG, Buffer.from([0x11, 0x11, 0, 12]), Buffer.alloc(12)])],
    ["v2, command 2", Buffer.concat([SIG, Buffer.from([0x22, 0x11, 0, 12]), Buffer.alloc(12)])],
    ["v2, over 4096 bytes", Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x10, 0x01])])],
    ["v2, TCP4 cut short", v2(1, 0x11, Buffer.alloc(8))],
    ["v2, a bad signature", Buffer.from("\r\n\r\nxxxxxxxxxxxxxxxx")],
  ] as const) {
    it(`refuses ${what}`, () => {
      const r = parseProxy(bytes);
      assert.ok(typeof r === "object" && "invalid" in r, JSON.stringify(r));
    });
  }

  it("any valid header, cut anywhere, is 'more' until whole; what follows it is not read (seeded)", () => {
    const ipv4 = fc.ipV4();
    const ipv6 = fc.ipV6();
    const port = fc.integer({ min: 0, max: 65_535 });
    const header = fc.oneof(
      fc.tuple(ipv4, ipv4, port, port).map(([s, d, sp, dp]) => ({
        bytes: Buffer.from(`PROXY TCP4 ${s} ${d} ${sp} ${dp}\r\n`),
        address: s,
        port: sp,
      })),
      fc.tuple(ipv6, ipv6, port, port).map(([s, d, sp, dp]) => ({
        bytes: Buffer.from(`PROXY TCP6 ${s} ${d} ${sp} ${dp}\r\n`),
        address: s,
        port: sp,
      })),
      fc.tuple(ipv4, port, fc.uint8Array({ maxLength: 64 })).map(([s, sp, tlv]) => ({
        bytes: v2tcp4(s, sp, Buffer.from(tlv)),
        address: s,
        port: sp,
      })),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 40 }), (h, after) => {
        for (let n = 0; n < h.bytes.length; n++)
          assert.equal(parseProxy(h.bytes.subarray(0, n)), "more");
        const r = parseProxy(Buffer.concat([h.bytes, after]));
        assert.ok(typeof r === "object" && "length" in r, JSON.stringify(r));
        assert.equal(r.length, h.bytes.length);
        const same = h.address.includes(":")
          ? canonical6(h.address) === canonical6(r.source?.address ?? "")
          : h.address === r.source?.address;
        assert.ok(same, `${h.address} read as ${r.source?.address}`);
        assert.equal(r.source?.port, h.port);
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });

  it("never throws, whatever the bytes (generated and mutated, seeded)", () => {
    const valid = fc.constantFrom(
      Buffer.from("PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n"),
      v2tcp4("1.2.3.4", 5),
      v2(1, 0x21, Buffer.alloc(36)),
    );
    const mutated = fc
      .tuple(valid, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 255 }))
      .map(([b, at, byte]) => {
        const c = Buffer.from(b);
        if (at < c.length) c[at] = byte;
        return c;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
        ),
        (b) => {
          parseProxy(b);
        },
      ),
      { seed: 20261204, numRuns: 2000 },
    );
  });
});

/** Connect, write `parts` (a pause between them), and collect what comes back until close. */
function raw(
  port: number,
  parts: (string | Buffer)[],
  waitMs = 3000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, HOST);
    let text = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    s.on("data", (d) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    s.on("connect", async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20));
        s.write(p);
      }
      s.end();
    });
  });
}

for (const mode of ["single", "handoff"]) {
  describe(`behind a proxy (--proxy-protocol on, ${mode})`, () => {
    const shared = sharedServer([
      ...["--mode", mode, "--workers", "1", "--http", "0", "--admin", "0"],
      ...["--proxy-protocol", "on", "--handshake-timeout", "0.5"],
    ]);
    const server = () => shared.server;

    it("TCP echo: the header is consumed, never echoed, whole or cut", async () => {
      const one = await raw(server().port, ["PROXY TCP4 192.0.2.1 10.0.0.1 5555 7007\r\nhello"]);
      assert.equal(one.text, "hello");
      const cut = v2tcp4("198.51.100.2", 1000);
      const two = await raw(server().port, [
        cut.subarray(0, 5),
        Buffer.concat([cut.subarray(5), Buffer.from("a")]),
        "bc",
      ]);
      assert.equal(two.text, "abc");
    });

    it("HTTP: the JSON description names the client from the header, and the proxy beside it", async () => {
      const r = await exchange(
        server().listening.http as number,
        [
          "PROXY TCP6 2001:db8::7 ::1 40000 80\r\n",
          "GET /?format=json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ],
        { gapMs: 20 },
      );
      const json = JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4));
      assert.equal(json.remoteAddress, "2001:db8::7");
      assert.equal(json.remotePort, 40000);
      assert.equal(json.proxyAddress, "127.0.0.1");
      assert.equal(typeof json.proxyPort, "number");
    });

    it("HTTP fast path: requests in the header's read, or after it, are echoed from the first", async () => {
      const http = server().listening.http as number;
      const fastCount = async () =>
        sum((await scrape(server())).samples, "echoplex_http_fast_path_total");
      const before = await fastCount();
      const post = (body: string, close = false) =>
        `POST / HTTP/1.1\r\nHost: a\r\n${close ? "Connection: close\r\n" : ""}Content-Length: ${body.length}\r\n\r\n${body}`;
      const header = "PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n";
      const bodies = (text: string) =>
        text
          .split("HTTP/1.1 200 OK")
          .slice(1)
          .map((a) => a.slice(a.indexOf("\r\n\r\n") + 4));
      // One write: the gate reads the header and the two requests behind it together.
      const one = await exchange(http, [header + post("abc") + post("de", true)]);
      assert.deepEqual(bodies(one.text), ["abc", "de"]);
      const two = await exchange(http, [header, post("xyz", true)], { gapMs: 20 });
      assert.deepEqual(bodies(two.text), ["xyz"]);
      // Workers report their counters every second.
      await waitFor("three fast-path answers", async () =>
        (await fastCount()) >= before + 3 ? true : undefined,
      );
    });

    it("a connection without a valid header, or silent, is closed and counted", async () => {
      const before = sum((await scrape(server())).samples, "echoplex_errors_total", 'kind="proxy"');
      const plain = await raw(server().port, ["hello, no header"]);
      assert.deepEqual(plain, { text: "", closed: true });
      const http = await raw(server().listening.http as number, [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      ]);
      assert.deepEqual(http, { text: "", closed: true });
      const silent = await new Promise<boolean>((resolve) => {
        const s = connect(server().port, HOST);
        s.on("error", () => {});
        s.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 5000); // 10x the 0.5 s timeout
      });
      assert.ok(silent, "closed after --handshake-timeout");
      await waitFor("the count", async () => {
        const now = sum((await scrape(server())).samples, "echoplex_errors_total", 'kind="proxy"');
        return now >= before + 3 ? now : undefined;
      });
    });
  });
}

describe("PROXY protocol: off by default", () => {
  it("off: a PROXY header is just bytes, echoed", async (t) => {
    const s = await serve(t, ["--mode", "single"]);
    const r = await raw(s.port, ["PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\nhi"]);
    assert.equal(r.text, "PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\nhi");
  });
});

describe("PROXY protocol in front of TLS", () => {
  const shared = sharedServer([
    ...["--mode", "handoff", "--workers", "1", "--http", "0", "--admin", "0"],
    ...["--proxy-protocol", "on", ...TLS_FLAGS],
  ]);

  /** Write `header` in the clear, then speak TLS on the same connection. */
  function behindProxy(port: number, header: string): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const raw = connect(port, HOST, () => {
        raw.write(header);
        const secure = tlsConnect({ socket: raw, ca: CA, servername: "localhost" }, () =>
          resolve(secure),
        );
        secure.on("error", reject);
      });
      raw.on("error", reject);
    });
  }

  it("TLS echo: the header first, then the handshake; the header is never echoed", async () => {
    const secure = await behindProxy(
      shared.server.port,
      "PROXY TCP4 192.0.2.9 10.0.0.1 999 7007\r\n",
    );
    secure.write("over tls");
    const [got] = (await once(secure, "data")) as [Buffer];
    assert.equal(got.toString(), "over tls");
    secure.destroy();
  });

  it("HTTPS: the description names the client from the header", async () => {
    const secure = await behindProxy(
      shared.server.listening.http as number,
      "PROXY TCP4 198.51.100.4 10.0.0.1 4444 443\r\n",
    );
    secure.write("GET /?format=json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let text = "";
    secure.setEncoding("utf8").on("data", (d: string) => {
      text += d;
    });
    await once(secure, "end");
    const d = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.equal(d.protocol, "https");
    assert.equal(d.remoteAddress, "198.51.100.4");
    assert.equal(d.remotePort, 4444);
  });
});
