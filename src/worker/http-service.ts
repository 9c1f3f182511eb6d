/**
 * HTTP/1.1 echo with WebSocket at /ws for one echo loop, under its limits. A module of its own so
 * that a loop without --http never loads node:http's server side or ws (~13 MB per worker).
 */
import type { ServeOptions } from "../messages.ts";
import { createHttpEcho, type HttpEcho } from "./http.ts";
import { type Shared, tlsErrorHandler } from "./servers.ts";
import { attachWebSocketEcho } from "./websocket.ts";

/** HTTP/1.1 echo with WebSocket at /ws, under the loop's limits; drain closes both. */
export function httpService(o: ServeOptions, s: Shared): HttpEcho {
  const h = createHttpEcho({
    maxBody: o.maxBody,
    headerTimeoutMs: o.headerTimeoutMs,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    tls: s.tls,
    work: s.work,
    served: { worker: s.worker, pid: process.pid },
    budget: s.budget,
    faults: s.faults,
    tally: s.tally,
  });
  h.server.on("connection", s.connections.admit);
  if (s.tls !== null) h.server.on("tlsClientError", tlsErrorHandler(s.tally));
  if (o.idleTimeoutMs > 0) {
    // node:http resets a socket's timeout per request (server.timeout) and between requests
    // (keepAliveTimeout): both must honour --idle-timeout.
    h.server.timeout = o.idleTimeoutMs;
    h.server.keepAliveTimeout = Math.min(h.server.keepAliveTimeout, o.idleTimeoutMs);
  }
  const closeWebSockets = attachWebSocketEcho(h.server, {
    maxMessage: o.maxMessage,
    compression: o.wsCompression,
    work: s.work,
    faults: s.faults,
    tally: s.tally,
    connections: s.connections,
  });
  return {
    server: h.server,
    drain() {
      h.drain();
      // close() also closes idle keep-alive connections.
      h.server.close();
      closeWebSockets();
    },
  };
}
