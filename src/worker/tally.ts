/**
 * Counters for /metrics that are not about connections: errors by kind, messages by protocol,
 * and drops by limit. Plain module state, bumped with ++ where the event happens (nothing
 * allocated); a worker sends a copy with its stats. TCP echo is a byte stream and has no
 * messages: its traffic is in the byte counters (connections.ts).
 */
import type { ErrorCounts, LimitCounts, MessageCounts } from "../messages.ts";

/**
 * errors: accept (a listener's accept failed), connection (a client socket's error: reset,
 * broken pipe), tls (a failed handshake), http (a malformed request, answered 400, 413
 * or 431), websocket (a protocol error), internal (our own exception serving one client: faults.ts). Drops by a limit (idle, body, message size, request
 * timeout) are in `limits`, not here.
 */
export interface Tally {
  readonly errors: ErrorCounts;
  readonly messages: MessageCounts;
  /** Drops by limit (see LimitCounts). */
  readonly limits: LimitCounts;
}

export const tally: Tally = {
  errors: { accept: 0, connection: 0, tls: 0, http: 0, websocket: 0, internal: 0 },
  messages: { http: 0, websocket: 0 },
  limits: {
    idleTimeout: 0,
    maxBody: 0,
    maxMessage: 0,
    headerTimeout: 0,
    httpBuffer: 0,
    handshakeTimeout: 0,
  },
};

export function tallyCopy(): Tally {
  return {
    errors: { ...tally.errors },
    messages: { ...tally.messages },
    limits: { ...tally.limits },
  };
}
