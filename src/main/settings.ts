/**
 * Every setting, declared once: name, flag, variable, default, parser, help. Parsing,
 * validation, --help and the README's flag table (kept complete by a test) all read this table.
 */
import { availableParallelism } from "node:os";
import { LOG_LEVELS } from "../log.ts";
import type { Config } from "./config.ts";
import {
  bytes,
  host,
  integer,
  oneOf,
  onOff,
  type Parser,
  path,
  portOrOff,
  seconds,
  work,
} from "./parse.ts";

export const MODES = [
  "single",
  "handoff",
  "cluster",
  "cluster-shared",
  "reuseport",
  "threads",
] as const;
export type Mode = (typeof MODES)[number];
export const BALANCES = ["round-robin", "least-connections"] as const;
export type Balance = (typeof BALANCES)[number];
export const CLIENT_CERT = ["off", "request", "require"] as const;
export type ClientCert = (typeof CLIENT_CERT)[number];

interface Setting<K extends keyof Config> {
  readonly key: K;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly fallback: () => Config[K];
  readonly parse: Parser<Config[K]>;
}

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({
    key: "mode",
    flag: "mode",
    env: "ECHOPLEX_MODE",
    help: "how connections reach the echo loops (see README)",
    fallback: () => "handoff",
    parse: oneOf(MODES),
  }),
  setting({
    key: "workers",
    flag: "workers",
    env: "ECHOPLEX_WORKERS",
    help: "worker processes or threads (default: available parallelism; single mode uses 1)",
    fallback: () => availableParallelism(),
    parse: integer(1, 1024),
  }),
  setting({
    key: "balance",
    flag: "balance",
    env: "ECHOPLEX_BALANCE",
    help: "how handoff picks a worker",
    fallback: () => "least-connections",
    parse: oneOf(BALANCES),
  }),
  setting({
    key: "spill",
    flag: "spill",
    env: "ECHOPLEX_SPILL",
    help: "handoff: let workers accept directly while the handoff queue is backed up (on|off)",
    fallback: () => true,
    parse: onOff,
  }),
  setting({
    key: "host",
    flag: "host",
    env: "ECHOPLEX_HOST",
    help: "address to listen on",
    fallback: () => "127.0.0.1",
    parse: host,
  }),
  setting({
    key: "port",
    flag: "port",
    env: "ECHOPLEX_PORT",
    help: "TCP echo port (RFC 862); 0 picks a free one",
    fallback: () => 7007,
    parse: integer(0, 65_535),
  }),
  setting({
    key: "backlog",
    flag: "backlog",
    env: "ECHOPLEX_BACKLOG",
    help: "listen backlog of every TCP listener: connections the kernel queues before accept (capped by net.core.somaxconn)",
    fallback: () => 4096,
    parse: integer(1, 65_535),
  }),
  setting({
    key: "maxConnections",
    flag: "max-connections",
    env: "ECHOPLEX_MAX_CONNECTIONS",
    help: "connections open at once, split evenly over the workers; beyond, new ones are closed at once and counted; 0: no cap",
    fallback: () => 0,
    parse: integer(0, 10_000_000),
  }),
  setting({
    key: "idleTimeout",
    flag: "idle-timeout",
    env: "ECHOPLEX_IDLE_TIMEOUT",
    help: "seconds a connection may stay silent (nothing read or written) before it is closed; 0: never",
    fallback: () => 0,
    parse: seconds(86_400),
  }),
  setting({
    key: "admin",
    flag: "admin",
    env: "ECHOPLEX_ADMIN",
    help: "admin HTTP port: /healthz, /readyz, /metrics; 0 picks a free one",
    fallback: () => 9464,
    parse: portOrOff,
  }),
  setting({
    key: "adminHost",
    flag: "admin-host",
    env: "ECHOPLEX_ADMIN_HOST",
    help: "address the admin port listens on (0.0.0.0 for probes from outside the host)",
    fallback: () => "127.0.0.1",
    parse: host,
  }),
  setting({
    key: "drainTimeout",
    flag: "drain-timeout",
    env: "ECHOPLEX_DRAIN_TIMEOUT",
    help: "seconds open connections may finish after SIGTERM/SIGINT",
    fallback: () => 10,
    parse: seconds(86_400),
  }),
  setting({
    key: "drainDelay",
    flag: "drain-delay",
    env: "ECHOPLEX_DRAIN_DELAY",
    help: "seconds to go on accepting and serving after SIGTERM/SIGINT while /readyz answers 503, before the drain closes the listeners: time for a load balancer's health checks to take the server out (a closed listener resets the connections waiting in its queue)",
    fallback: () => 0,
    parse: seconds(3600),
  }),
  setting({
    key: "startTimeout",
    flag: "start-timeout",
    env: "ECHOPLEX_START_TIMEOUT",
    help: "seconds a worker may take to become ready; then it is killed and its start fails (a rolling restart stops there)",
    fallback: () => 30,
    parse: seconds(3_600, 0.001),
  }),
  setting({
    key: "logLevel",
    flag: "log-level",
    env: "ECHOPLEX_LOG_LEVEL",
    help: "JSON log level on stdout",
    fallback: () => "info",
    parse: oneOf(LOG_LEVELS),
  }),
  setting({
    key: "http",
    flag: "http",
    env: "ECHOPLEX_HTTP",
    help: "HTTP/1.1 echo port, WebSocket echo on /ws; 0 picks a free one",
    fallback: () => null,
    parse: portOrOff,
  }),
  setting({
    key: "udp",
    flag: "udp",
    env: "ECHOPLEX_UDP",
    help: "UDP echo port (RFC 862); 0 picks a free one",
    fallback: () => null,
    parse: portOrOff,
  }),
  setting({
    key: "udpRate",
    flag: "udp-rate",
    env: "ECHOPLEX_UDP_RATE",
    help: "UDP datagrams answered per second per source address, per worker; 0: no limit",
    fallback: () => 1000,
    parse: integer(0, 10_000_000),
  }),
  setting({
    key: "maxBody",
    flag: "max-body",
    env: "ECHOPLEX_MAX_BODY",
    help: "largest HTTP request body; larger gets 413",
    fallback: () => 1024 ** 2,
    parse: bytes(0, 1024 ** 3),
  }),
  setting({
    key: "httpBuffer",
    flag: "http-buffer",
    env: "ECHOPLEX_HTTP_BUFFER",
    help: "bytes of HTTP request bodies and unsent answers held at once, split evenly over the workers; beyond, new requests get 503 and a close",
    fallback: () => 64 * 1024 ** 2,
    parse: bytes(64 * 1024, 64 * 1024 ** 3),
  }),
  setting({
    key: "maxMessage",
    flag: "max-message",
    env: "ECHOPLEX_MAX_MESSAGE",
    help: "largest WebSocket message; larger closes with 1009",
    fallback: () => 1024 ** 2,
    parse: bytes(1, 1024 ** 3),
  }),
  setting({
    key: "headerTimeout",
    flag: "header-timeout",
    env: "ECHOPLEX_HEADER_TIMEOUT",
    help: "seconds an HTTP client may take to send its headers (then 408 and close)",
    fallback: () => 10,
    parse: seconds(3_600),
  }),
  setting({
    key: "handshakeTimeout",
    flag: "handshake-timeout",
    env: "ECHOPLEX_HANDSHAKE_TIMEOUT",
    help: "seconds a TLS client may take to finish its handshake (then the connection is closed)",
    fallback: () => 10,
    parse: seconds(3_600, 0.001),
  }),
  setting({
    key: "wsCompression",
    flag: "ws-compression",
    env: "ECHOPLEX_WS_COMPRESSION",
    help: "WebSocket permessage-deflate (on|off)",
    fallback: () => false,
    parse: onOff,
  }),
  setting({
    key: "httpFastPath",
    flag: "http-fast-path",
    env: "ECHOPLEX_HTTP_FAST_PATH",
    help: "answer the common HTTP echo request (a small Content-Length body) without node:http, and echo whole WebSocket data frames without ws; everything else still goes to node:http and ws (on|off)",
    fallback: () => true,
    parse: onOff,
  }),
  setting({
    key: "http2",
    flag: "http2",
    env: "ECHOPLEX_HTTP2",
    help: "also serve HTTP/2 on the HTTP port: over TLS, to clients that choose h2 by ALPN; in cleartext, with prior knowledge (h2c): a connection that opens with the HTTP/2 preface is HTTP/2, any other HTTP/1.1 (on|off)",
    fallback: () => false,
    parse: onOff,
  }),
  setting({
    key: "responseControl",
    flag: "response-control",
    env: "ECHOPLEX_RESPONSE_CONTROL",
    help: "let a request shape its HTTP answer: echo_status, echo_delay, echo_header, echo_bytes, echo_chunks, echo_interval (query) or x-echo-* (headers) (on|off)",
    fallback: () => true,
    parse: onOff,
  }),
  setting({
    key: "maxDelay",
    flag: "max-delay",
    env: "ECHOPLEX_MAX_DELAY",
    help: "seconds an answer may be delayed or streamed for at most (echo_delay, echo_chunks, /sse)",
    fallback: () => 60,
    parse: seconds(86_400),
  }),
  setting({
    key: "cors",
    flag: "cors",
    env: "ECHOPLEX_CORS",
    help: "answer CORS preflights and add CORS headers to every HTTP answer (on|off)",
    fallback: () => false,
    parse: onOff,
  }),
  setting({
    key: "proxyProtocol",
    flag: "proxy-protocol",
    env: "ECHOPLEX_PROXY_PROTOCOL",
    help: "expect a PROXY protocol header (v1 or v2) first on every TCP echo and HTTP connection, as HAProxy, AWS NLB and nginx send it; only behind a proxy you trust (on|off)",
    fallback: () => false,
    parse: onOff,
  }),
  setting({
    key: "tlsCert",
    flag: "tls-cert",
    env: "ECHOPLEX_TLS_CERT",
    help: "PEM certificate chain: TLS on the TCP echo port and HTTPS/WSS (needs --tls-key)",
    fallback: () => null,
    parse: path,
  }),
  setting({
    key: "tlsKey",
    flag: "tls-key",
    env: "ECHOPLEX_TLS_KEY",
    help: "PEM private key for --tls-cert",
    fallback: () => null,
    parse: path,
  }),
  setting({
    key: "tlsCa",
    flag: "tls-ca",
    env: "ECHOPLEX_TLS_CA",
    help: "PEM certificates of the CAs that client certificates are checked against",
    fallback: () => null,
    parse: path,
  }),
  setting({
    key: "tlsClientCert",
    flag: "tls-client-cert",
    env: "ECHOPLEX_TLS_CLIENT_CERT",
    help: "ask TLS clients for a certificate: off, request (any client is served; the description says whether its certificate verified) or require (only clients with a certificate --tls-ca verifies)",
    fallback: () => "off",
    parse: oneOf(CLIENT_CERT),
  }),
  setting({
    key: "work",
    flag: "work",
    env: "ECHOPLEX_WORK",
    help: "CPU work per message before its echo: none or sha256:ROUNDS",
    fallback: () => null,
    parse: work,
  }),
  setting({
    key: "offload",
    flag: "offload",
    env: "ECHOPLEX_OFFLOAD",
    help: "run --work on a pool of N threads per worker (piscina); 0: on the event loop",
    fallback: () => 0,
    parse: integer(0, 256),
  }),
] as const;
