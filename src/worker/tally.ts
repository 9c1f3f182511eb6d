/**
 * Counters for /metrics that are not about connections: errors by kind and messages by
 * protocol. Plain module state, bumped with ++ where the event happens (nothing allocated); a
 * worker sends a copy with its stats. TCP echo is a byte stream and has no messages: its traffic
 * is in the byte counters (connections.ts).
 */
import type { ErrorCounts, MessageCounts } from "../messages.ts";

/**
 * errors: accept (a listener's accept failed), connection (a client socket's error: reset,
 * broken pipe), tls (a failed handshake), http (a malformed or timed-out request, answered
 * 400/408/413/431), websocket (a protocol error or an oversized message).
 */
export interface Tally {
  readonly errors: ErrorCounts;
  readonly messages: MessageCounts;
}

export const tally: Tally = {
  errors: { accept: 0, connection: 0, tls: 0, http: 0, websocket: 0 },
  messages: { http: 0, websocket: 0 },
};

export function tallyCopy(): Tally {
  return { errors: { ...tally.errors }, messages: { ...tally.messages } };
}
