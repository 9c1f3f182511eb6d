/**
 * Counters for /metrics that are not about connections: errors by kind, messages by protocol,
 * and drops by limit. One Tally per echo loop, owned by its services (services.ts) and handed to
 * what counts; bumped with ++ where the event happens (nothing allocated); a worker sends a copy
 * with its stats. TCP echo is a byte stream and has no messages: its traffic is in the byte
 * counters (connections.ts).
 *
 * errors: accept (a listener's accept failed), connection (a client socket's error: reset,
 * broken pipe), tls (a failed handshake), http (a malformed request, answered 400, 413 or 431),
 * websocket (a protocol error), internal (our own exception serving one client: faults.ts).
 * Drops by a limit (idle, body, message size, request timeout, ...) are in `limits`.
 */
import type {
  AccessLogCounts,
  ErrorCounts,
  FastPathCounts,
  FaultCounts,
  LimitCounts,
  MessageCounts,
} from "../../messages.ts";

export interface TallyCounts {
  readonly errors: ErrorCounts;
  readonly messages: MessageCounts;
  readonly limits: LimitCounts;
  readonly fast: FastPathCounts;
  readonly faults: FaultCounts;
  readonly accessLog: AccessLogCounts;
}

export class Tally implements TallyCounts {
  readonly errors: ErrorCounts = {
    accept: 0,
    connection: 0,
    tls: 0,
    http: 0,
    websocket: 0,
    proxy: 0,
    internal: 0,
  };
  readonly messages: MessageCounts = { http: 0, websocket: 0 };
  readonly limits: LimitCounts = {
    idleTimeout: 0,
    maxBody: 0,
    maxMessage: 0,
    headerTimeout: 0,
    httpBuffer: 0,
    handshakeTimeout: 0,
    requestTimeout: 0,
    streaming: 0,
  };

  readonly fast: FastPathCounts = { httpFast: 0, wsFast: 0 };
  readonly faults: FaultCounts = {
    http: { status: 0, delay: 0, close: 0, reset: 0 },
    http2: { status: 0, delay: 0, close: 0, reset: 0 },
    tcp: { reset: 0, close: 0, delay: 0, stall: 0, "close-after": 0 },
    udp: { drop: 0, duplicate: 0, truncate: 0, delay: 0 },
    websocket: { close: 0, drop: 0, delay: 0 },
  };
  readonly accessLog: AccessLogCounts = { lines: 0, dropped: 0 };

  copy(): TallyCounts {
    return {
      errors: { ...this.errors },
      messages: { ...this.messages },
      limits: { ...this.limits },
      fast: { ...this.fast },
      faults: {
        http: { ...this.faults.http },
        http2: { ...this.faults.http2 },
        tcp: { ...this.faults.tcp },
        udp: { ...this.faults.udp },
        websocket: { ...this.faults.websocket },
      },
      accessLog: { ...this.accessLog },
    };
  }
}
