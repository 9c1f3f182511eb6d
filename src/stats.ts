/**
 * What a loop counts: its counters since it started and how it is now. Workers send them in
 * StatsMessage (messages.ts) every second; the primary's /metrics reads the last ones.
 */
/** What a loop has done since it started (counters) and how it is now; for /metrics. */
export interface WorkerStats {
  readonly open: number;
  readonly served: number;
  readonly refused: number;
  /** Bytes read from and written to clients, TCP and HTTP/WebSocket connections. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** UDP datagrams by outcome, when UDP is on. */
  readonly udp: UdpCounts | null;
  /** The event loop's delay over the last report period: p99 and max, in seconds. */
  readonly loopDelayP99: number;
  readonly loopDelayMax: number;
  /** Errors by kind and messages by protocol (src/worker/loop/tally.ts). */
  readonly errors: ErrorCounts;
  readonly messages: MessageCounts;
  readonly limits: LimitCounts;
  readonly fast: FastPathCounts;
  readonly faults: FaultCounts;
  readonly accessLog: AccessLogCounts;
}

/** Access log lines (--access-log): made, and dropped because the buffer was full. */
export interface AccessLogCounts {
  lines: number;
  dropped: number;
}

/** UDP datagrams received, and what became of them (src/worker/udp/echo.ts). */
export interface UdpCounts {
  received: number;
  answered: number;
  /** Dropped: the source port is below 1024. */
  reflection: number;
  /** Dropped: the source address ran out of tokens (--udp-rate). */
  rateLimited: number;
  /** Dropped: the send queue was full. */
  queueFull: number;
  /** Dropped: byte-identical to the reply just sent to the same address and port (loop-guard.ts). */
  loop: number;
  /** Dropped: the worker's reply budget or its offload slots were used up. */
  busy: number;
  /** Dropped: our own exception while handling it (also counted as errors{kind="internal"}). */
  failed: number;
}

/** Errors by kind: see src/worker/loop/tally.ts. */
export interface ErrorCounts {
  accept: number;
  connection: number;
  tls: number;
  http: number;
  websocket: number;
  /** A connection without a valid PROXY protocol header (--proxy-protocol on), closed. */
  proxy: number;
  /** Our own exception while serving one connection, request, message or datagram (faults.ts). */
  internal: number;
}
/**
 * Connections, requests and messages dropped by a limit other than --max-connections (`refused`)
 * and --udp-rate (`udp`): closed after --idle-timeout, answered 413 over --max-body, closed with
 * 1009 over --max-message, answered 408 after --header-timeout (or node:http's request timeout),
 * answered 503 over --http-buffer, cut off after --handshake-timeout.
 */
export interface LimitCounts {
  idleTimeout: number;
  maxBody: number;
  maxMessage: number;
  headerTimeout: number;
  /** Requests answered 503: the loop held its share of --http-buffer. */
  httpBuffer: number;
  /** TLS connections cut off after --handshake-timeout. */
  handshakeTimeout: number;
  /** HTTP requests not complete within --request-timeout (408; HTTP/2: the stream reset). */
  requestTimeout: number;
  /** Delayed or streamed answers refused with 503: the loop ran its share of --max-streaming. */
  streaming: number;
}
/** HTTP requests and WebSocket messages echoed (TCP echo is a stream: see the byte counts). */
export interface MessageCounts {
  http: number;
  websocket: number;
}
/**
 * Of the HTTP requests and WebSocket messages, those the fast paths answered
 * (src/worker/http/fast.ts, src/worker/websocket/fast.ts).
 */
export interface FastPathCounts {
  httpFast: number;
  wsFast: number;
}

/** Faults injected on purpose (--faults, or a request's echo_status=503:10, ...), by kind. */
export interface FaultKindCounts {
  status: number;
  delay: number;
  close: number;
  reset: number;
}

/** Injected TCP echo faults (--tcp-faults), named as its grammar names them. */
export interface TcpFaultCounts {
  reset: number;
  close: number;
  delay: number;
  stall: number;
  "close-after": number;
}

/** Injected UDP echo faults (--udp-faults). */
export interface UdpFaultCounts {
  drop: number;
  duplicate: number;
  truncate: number;
  delay: number;
}

/** Injected WebSocket faults (--ws-faults). */
export interface WsFaultCounts {
  close: number;
  drop: number;
  delay: number;
}

/** Injected faults by protocol. */
export interface FaultCounts {
  readonly http: FaultKindCounts;
  readonly http2: FaultKindCounts;
  readonly tcp: TcpFaultCounts;
  readonly udp: UdpFaultCounts;
  readonly websocket: WsFaultCounts;
}
