/**
 * The connection servers one echo loop runs: TCP echo (TLS when configured) and HTTP/1.1 with
 * WebSocket at /ws, each admitting its connections under the loop's limits (connections.ts) and
 * counting what happens in the loop's tally.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { ServeOptions } from "../messages.ts";
import type { TlsMaterial } from "../tls.ts";
import type { ByteBudget } from "./byte-budget.ts";
import type { Connections } from "./connections.ts";
import { echoHandler } from "./echo.ts";
import type { Faults } from "./faults.ts";
import { createHttpEcho, type HttpEcho } from "./http.ts";
import type { Tally } from "./tally.ts";
import { attachWebSocketEcho } from "./websocket.ts";
import type { Work } from "./work.ts";

/** What every server of one loop shares. */
export interface Shared {
  readonly tls: TlsMaterial | null;
  readonly work: Work | null;
  readonly worker: number;
  readonly budget: ByteBudget;
  readonly faults: Faults;
  readonly tally: Tally;
  readonly connections: Connections;
}

/**
 * A failed TLS handshake (also on the HTTPS server), or one not done within
 * --handshake-timeout: counted, and the connection closed (Node only reports a handshake
 * timeout: without this the connection stayed open for good).
 */
function tlsErrorHandler(tally: Tally): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") tally.limits.handshakeTimeout++;
    else tally.errors.tls++;
    socket.destroy();
  };
}

/**
 * Serve a handed-in socket as if `server` had accepted it: with the server's half-open setting
 * (a TLS socket takes it from the raw one; see Connections.admitted).
 */
export function handOver(server: NetServer, socket: Socket): void {
  socket.allowHalfOpen = (server as NetServer & { allowHalfOpen: boolean }).allowHalfOpen;
  server.emit("connection", socket);
}

/** The TCP echo server (TLS when configured) and its connection handler. */
export function echoServer(o: ServeOptions, s: Shared) {
  const { tls, connections } = s;
  // TLS: a connection is admitted (counted, capped, timed for idleness) as the raw socket on
  // 'connection', before its handshake; the TLS socket it becomes is served as it is.
  const take = tls === null ? connections.admit : connections.admitted;
  const onEcho = echoHandler(s.work, take, s.tally);
  if (tls === null) return { server: createNetServer({ allowHalfOpen: true }, onEcho), onEcho };
  const server = createTlsServer(
    { ...tls, allowHalfOpen: false, handshakeTimeout: o.handshakeTimeoutMs },
    onEcho,
  );
  server.on("connection", connections.admit);
  server.on("tlsClientError", tlsErrorHandler(s.tally));
  return { server: server as NetServer, onEcho };
}

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
