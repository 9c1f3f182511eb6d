/** Every port echoplex opens, as a fuzzing surface (surface.ts runs them). */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { HOST } from "../helpers/client.ts";
import type { RunningServer } from "../helpers/server.ts";
import { TLS, TLS_FLAGS } from "../helpers/tls.ts";
import { h2Stream, PREFACE } from "./h2c.ts";
import { httpStream, request } from "./http.ts";
import { fastStream } from "./http-fast.ts";
import { httpbinSurface } from "./httpbin.ts";
import { cuts, split } from "./mutate.ts";
import { proxiedEcho, proxiedHttp } from "./proxy.ts";
import { type ControlCase, controlCases, sendControlCase } from "./response-control.ts";
import { CASE_MS, connectTo, type Surface, sendAndClose } from "./surface.ts";
import { tlsStream } from "./tls.ts";
import { MAX_MESSAGE, upgradeRequest, wsStream } from "./websocket.ts";

const COMMON = ["--header-timeout", "2", "--handshake-timeout", "2", "--max-body", "8KiB"];

interface Stream {
  readonly data: Buffer;
  readonly cuts: readonly number[];
}
const stream = (data: fc.Arbitrary<Buffer>): fc.Arbitrary<Stream> => fc.record({ data, cuts });

function streamSurface(
  name: string,
  data: fc.Arbitrary<Buffer>,
  port: (s: RunningServer) => number,
  o: { args?: readonly string[]; tls?: boolean; prelude?: () => string } = {},
): Surface<Stream> {
  return {
    name,
    args: [...COMMON, "--http", "0", ...(o.args ?? [])],
    ...(o.tls === undefined ? {} : { tls: o.tls }),
    cases: stream(data),
    send(server, c) {
      const parts = split(c.data, c.cuts);
      const prelude = o.prelude?.();
      return sendAndClose(
        connectTo(port(server)),
        prelude === undefined ? parts : [Buffer.from(prelude), ...parts],
      );
    },
  };
}

const httpPort = (s: RunningServer) => s.listening.http as number;

/** General requests, and requests near the HTTP fast path's edge (it is on by default). */
export const HTTP = streamSurface("http", fc.oneof(httpStream, fastStream), httpPort);

/** HTTP/2 with prior knowledge: frames of every kind after the preface (--http2 on). */
export const H2C = streamSurface("h2c", h2Stream, httpPort, {
  args: ["--http2", "on"],
  prelude: () => PREFACE,
});

/**
 * HTTP/2 over TLS (--http2 on with TLS): the same frames, inside TLS, h2 chosen by ALPN; the
 * server asks for client certificates (none is sent), as --tls-client-cert request has it.
 */
export const H2_TLS: Surface<Stream> = {
  name: "h2-tls",
  args: [
    ...[...COMMON, "--http", "0", "--http2", "on", ...TLS_FLAGS],
    ...["--tls-ca", TLS.clientCa, "--tls-client-cert", "request"],
  ],
  tls: true,
  cases: stream(h2Stream),
  send(server, c) {
    const socket = tlsConnect({
      host: HOST,
      port: httpPort(server),
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
    });
    return sendAndClose(socket, [Buffer.from(PREFACE), ...split(c.data, c.cuts)]);
  },
};

/** --proxy-protocol on (and --cors on): PROXY headers, valid or not, before HTTP or echo bytes. */
export const PROXY: Surface<Stream & { http: boolean }> = {
  name: "proxy",
  args: [...COMMON, "--http", "0", "--proxy-protocol", "on", "--cors", "on"],
  probePrefix: Buffer.from("PROXY TCP4 192.0.2.1 10.0.0.1 1 7007\r\n"),
  cases: fc.oneof(
    fc.record({ data: proxiedHttp, cuts, http: fc.constant(true) }),
    fc.record({ data: proxiedEcho, cuts, http: fc.constant(false) }),
  ),
  send(server, c) {
    return sendAndClose(connectTo(c.http ? httpPort(server) : server.port), split(c.data, c.cuts));
  },
};

export const WEBSOCKET = streamSurface("websocket", wsStream, httpPort, {
  args: ["--max-message", String(MAX_MESSAGE)],
  prelude: upgradeRequest,
});

/**
 * The echo loops with faults below HTTP on, seeded (a failure replays): WebSocket frames under
 * --ws-faults, and byte streams cut anywhere under --tcp-faults (delays and stalls only: the
 * health probe shares the TCP echo, and a reset or a cut would be its fault, not the server's).
 */
export const FAULTY: Surface<Stream & { ws: boolean }> = {
  name: "faults-below-http",
  args: [
    ...[...COMMON, "--http", "0", "--max-message", String(MAX_MESSAGE), "--fault-seed", "1"],
    ...["--tcp-faults", "delay=2ms:10,1ms:10,stall=5ms:10"],
    ...["--ws-faults", "close=1011:5,4000:2,drop=5,delay=2ms:10,1ms:5"],
  ],
  cases: fc.oneof(
    fc.record({ data: wsStream, cuts, ws: fc.constant(true) }),
    fc.record({
      data: fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
      cuts,
      ws: fc.constant(false),
    }),
  ),
  send(server, c) {
    const parts = split(c.data, c.cuts);
    if (!c.ws) return sendAndClose(connectTo(server.port), parts);
    return sendAndClose(connectTo(httpPort(server)), [Buffer.from(upgradeRequest()), ...parts]);
  },
};

/**
 * TLS on the echo port (TLS echo) and the HTTP port (HTTPS, choosing h2 or http/1.1 by ALPN with
 * --http2 on): garbage and broken ClientHellos.
 */
export const TLS_HELLO: Surface<Stream & { http: boolean }> = {
  name: "tls",
  args: [...COMMON, "--http", "0", "--http2", "on", ...TLS_FLAGS],
  tls: true,
  cases: fc.record({ data: tlsStream, cuts, http: fc.boolean() }),
  send(server, c) {
    return sendAndClose(connectTo(c.http ? httpPort(server) : server.port), split(c.data, c.cuts));
  },
};

/**
 * Response control from its grammar over HTTP/1.1 and HTTP/2 (response-control.ts), with every
 * answer a request can shape allowed to go out and --faults on top: no worker exit, no internal
 * error.
 */
export const CONTROL: Surface<ControlCase> = {
  name: "response-control",
  args: [
    ...COMMON,
    ...["--http", "0", "--http2", "on", "--max-delay", "0.5", "--max-streaming", "20"],
    // Faults every answer may get, beside a request's own (seeded: a failure replays).
    ...["--faults", "status=503:5,429:5,delay=5ms:5,close=2,reset=1", "--fault-seed", "1"],
  ],
  cases: controlCases,
  send: sendControlCase,
};

/** Admin port: generated HTTP requests; then /healthz must still answer (the primary serves it). */
export const ADMIN: Surface<Stream> = {
  name: "admin",
  // A token set, so its POSTs are live: no generated request carries it (401, nothing changed).
  args: [...COMMON, "--admin-token", "fuzz-token-0123456789"],
  cases: stream(fc.array(request, { minLength: 1, maxLength: 2 }).map((r) => Buffer.concat(r))),
  async send(server, c) {
    const admin = server.listening.admin as number;
    await sendAndClose(connectTo(admin), split(c.data, c.cuts));
    const res = await fetch(`http://127.0.0.1:${admin}/healthz`);
    if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
    await res.arrayBuffer();
  },
};

/** Datagrams of 0 to 65,507 bytes from many sources (addresses 127.0.0.2-9, any port). */
interface Datagrams {
  readonly sends: readonly { readonly from: number; readonly size: number }[];
}
const SOURCES = 8;
const sockets: UdpSocket[] = [];
async function sources(): Promise<UdpSocket[]> {
  if (sockets.length > 0) return sockets;
  for (let i = 0; i < SOURCES; i++) {
    const s = createSocket("udp4");
    s.on("error", () => {});
    s.on("message", () => {});
    s.bind(0, `127.0.0.${2 + i}`);
    await once(s, "listening");
    s.unref();
    sockets.push(s);
  }
  return sockets;
}

let probe: UdpSocket | undefined;
/**
 * A datagram from a source of its own comes back: the UDP loop still serves. UDP may drop it
 * (the kernel's receive buffer overflows under a burst of 64 KiB datagrams), so the probe is
 * sent again every PROBE_RETRY_MS until CASE_MS runs out.
 */
const PROBE_RETRY_MS = 50;
async function udpAnswers(port: number): Promise<void> {
  if (probe === undefined) {
    probe = createSocket("udp4");
    probe.bind(0, "127.0.0.1");
    await once(probe, "listening");
    probe.unref();
  }
  const p = probe;
  // A fresh payload each time: the same datagram again from the same source looks like an echo
  // loop to the server's loop guard (udp/loop-guard.ts), which would rightly not answer it.
  const sent = new Set<string>();
  let retry: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("UDP probe not answered")), CASE_MS);
      const on = (m: Buffer) => {
        if (!sent.has(m.toString("latin1"))) return;
        clearTimeout(timer);
        p.off("message", on);
        resolve();
      };
      p.on("message", on);
      const send = () => {
        const payload = `probe ${Math.random()}`;
        sent.add(payload);
        p.send(payload, port, "127.0.0.1");
      };
      send();
      retry = setInterval(send, PROBE_RETRY_MS);
    });
  } finally {
    clearInterval(retry);
  }
}

export const UDP: Surface<Datagrams> = {
  name: "udp",
  // The probe's source sends one datagram a case: keep it under the per-source rate, which
  // stays in the path (loopback is otherwise trusted, --udp-trusted).
  args: [
    ...[...COMMON, "--udp", "0", "--udp-rate", "5000", "--udp-trusted", "none"],
    // Faults on every datagram (seeded): the probe is sent again until one comes back whole.
    ...["--udp-faults", "drop=2,duplicate=5,truncate=2,delay=2ms:5", "--fault-seed", "1"],
  ],
  cases: fc.record({
    sends: fc.array(
      fc.record({
        from: fc.integer({ min: 0, max: SOURCES - 1 }),
        size: fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: 1500 }) },
          { weight: 1, arbitrary: fc.integer({ min: 1501, max: 65_507 }) },
          { weight: 1, arbitrary: fc.constantFrom(0, 65_507) },
        ),
      }),
      { minLength: 1, maxLength: 20 },
    ),
  }),
  async send(server, c) {
    const port = server.listening.udp as number;
    const from = await sources();
    for (const { from: i, size } of c.sends) {
      (from[i] as UdpSocket).send(Buffer.alloc(size, i), port, "127.0.0.1");
    }
    await udpAnswers(port);
  },
};

export const SURFACES: readonly Surface<never>[] = [
  HTTP,
  WEBSOCKET,
  FAULTY,
  H2C,
  H2_TLS,
  CONTROL,
  PROXY,
  TLS_HELLO,
  ADMIN,
  UDP,
  httpbinSurface(COMMON),
] as unknown as Surface<never>[];
