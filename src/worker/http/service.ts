/**
 * HTTP/1.1 echo with WebSocket at /ws for one echo loop, under its limits. A module of its own so
 * that a loop without --http never loads node:http's server side or ws (~13 MB per worker).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { ServeOptions } from "../../messages.ts";
import { diceFor } from "../answers/injected.ts";
import { type Shared, tlsErrorHandler } from "../tcp/echo-server.ts";
import { attachWebSocketEcho } from "../websocket/echo.ts";
import { wsFaults } from "../websocket/faulty.ts";
import { FastPath } from "./fast.ts";
import { H2Fast } from "./h2-fast.ts";
import { byAlpn, type H2c, h2c } from "./http2.ts";
import { createHttpEcho, type HttpEcho } from "./server.ts";

export interface HttpService {
  /** node:http's server (its timers start on its 'listening'). */
  readonly server: NetServer;
  /** What listens on the HTTP port and takes handed-in connections: the fast path, or node:http. */
  readonly front: NetServer;
  drain(): void;
}

/** HTTP/1.1 echo with WebSocket at /ws, under the loop's limits; drain closes both. */
export function httpService(o: ServeOptions, s: Shared): HttpService {
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
    responseControl: o.responseControl,
    maxDelayMs: o.maxDelayMs,
    maxStreaming: o.maxStreaming,
    unsafeResponses: o.unsafeResponses,
    defaults: s.defaults,
    access: s.access,
    dice: diceFor(o.faultSeed, s.worker),
    requestTimeoutMs: o.requestTimeoutMs,
    cors: o.cors,
    httpbin: o.httpbin,
    h2: o.http2,
  });
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
    fastPath: o.httpFastPath,
    work: s.work,
    injected: wsFaults(o, s),
    access: s.access,
    faults: s.faults,
    tally: s.tally,
    connections: s.connections,
  });
  const fast = fastPath(o, s, h);
  // --http2 on: over TLS, ALPN decides; in cleartext (h2c), a connection opening with HTTP/2's
  // preface is HTTP/2's, any other HTTP/1's.
  const h2 = o.http2
    ? h2c(h.onRequest, () => s.tally.errors.http++, {
        headerTimeoutMs: o.headerTimeoutMs,
        requestTimeoutMs: o.requestTimeoutMs,
        tally: s.tally,
        fast: h2Fast(o, s),
      })
    : null;
  if (h2 !== null && s.tls !== null) byAlpn(h.server, h2);
  const front = frontOf(o, s, h.server, fast, s.tls === null ? h2 : null);
  return {
    server: h.server,
    front,
    drain() {
      h.drain();
      // close() also closes idle keep-alive connections.
      h.server.close();
      if (front !== h.server) front.close();
      fast?.drain();
      closeWebSockets();
      h2?.drain();
    },
  };
}

/**
 * The fast path, unless this loop's settings keep node:http's path: it answers plain-text echoes
 * only (TLS and --work do not), and --cors answers carry headers it does not write.
 */
function fastPath(o: ServeOptions, s: Shared, h: HttpEcho): FastPath | null {
  // Not with what every answer must get: CORS headers; nor while --faults (or POST /faults) gives
  // every answer a chance of a fault: then each read goes to node:http (off()).
  // Nor with --access-log: each request is logged with its path and status.
  if (!o.httpFastPath || s.tls !== null || s.work !== null || o.cors || s.access !== null)
    return null;
  return new FastPath({
    maxBody: o.maxBody,
    keepAliveMs: () => h.server.keepAliveTimeout,
    headerTimeoutMs: o.headerTimeoutMs,
    budget: s.budget,
    draining: h.draining,
    slow: (socket, read) => toNode(h.server, socket, read),
    off: () => s.defaults.plan !== null,
    faults: s.faults,
    tally: s.tally,
  });
}

/** HTTP/2's fast path (h2-fast.ts), on the HTTP/1 fast path's terms but TLS (ALPN h2 takes it). */
function h2Fast(o: ServeOptions, s: Shared): H2Fast | null {
  if (!o.httpFastPath || s.work !== null || o.cors || s.access !== null) return null;
  return new H2Fast({
    maxBody: o.maxBody,
    budget: s.budget,
    requestTimeoutMs: o.requestTimeoutMs,
    off: () => s.defaults.plan !== null,
    faults: s.faults,
    tally: s.tally,
  });
}

/** What takes the HTTP port's connections: node:http itself, or a server in front of it. */
function frontOf(
  o: ServeOptions,
  s: Shared,
  server: NetServer,
  fast: FastPath | null,
  h2: H2c | null,
): NetServer {
  if (fast === null && h2 === null) {
    server.on("connection", s.connections.admit);
    return server;
  }
  const http1 = (socket: Socket): void => {
    if (fast !== null) fast.take(socket);
    else server.emit("connection", socket);
  };
  // node:http's own options for its sockets: half-open allowed, no Nagle delay.
  return createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (!s.connections.admit(socket)) return;
    if (h2 === null) http1(socket);
    else h2.take(socket, http1, o.headerTimeoutMs);
  });
}

/**
 * node:http takes a connection from the fast path: the read it did not answer goes back in
 * front of the stream, where node:http's parser reads it first.
 */
function toNode(server: NetServer, socket: Socket, read: Buffer): void {
  socket.unshift(read);
  server.emit("connection", socket);
  // The fast path may have paused reading while the client did not take its answers.
  if (socket.isPaused()) socket.resume();
}
