/**
 * HTTP/2 (--http2 on) on the HTTP port, beside HTTP/1.1. In cleartext, with prior knowledge
 * (h2c): a connection whose first 24 bytes are HTTP/2's connection preface goes to a node:http2
 * server that answers with the same request handler; any other goes on to HTTP/1.1 (the fast
 * path, or node:http) with what was read put back in front of the stream. Over TLS, ALPN
 * decides (byAlpn): a client that chose h2 goes to the same node:http2 server.
 *
 * node:http2 reads a socket's handle directly, but first reads what waits in the socket's own
 * buffer (on the next tick): the bytes read here are put back there, and the socket is left
 * paused so that nothing else takes them before it does.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createH2Server, type Http2Server, type Http2Session } from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Streams one session may have open at once (node:http2 sets no limit): the lowest RFC 9113
 * recommends, as nginx and Go have it. A session's memory is node's own bound (10 MB).
 */
export const MAX_STREAMS = 100;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface H2c {
  /**
   * Take a new HTTP connection: HTTP/2 if it opens with the preface, else `http1(socket)`; one
   * silent for `waitMs` goes to HTTP/1, whose header timeout then answers it (408).
   */
  take(socket: Socket, http1: (socket: Socket) => void, waitMs: number): void;
  /** Serve a TLS connection whose client chose h2 by ALPN (its handshake is done). */
  session(socket: TLSSocket): void;
  /** Close every HTTP/2 session gracefully (GOAWAY): their streams finish, no new ones start. */
  drain(): void;
}

export function h2c(onRequest: Handler, onError: () => void): H2c {
  const server: Http2Server = createH2Server(
    { settings: { maxConcurrentStreams: MAX_STREAMS } },
    onRequest as never,
  );
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", onError);
  });
  return {
    take(socket, http1, waitMs) {
      let got: Buffer | null = null;
      const decide = (h2: boolean): void => {
        clearTimeout(timer);
        socket.removeListener("data", onData);
        socket.removeListener("error", onError);
        socket.pause();
        if (got !== null) socket.unshift(got);
        if (h2) {
          // As node:http2's own server would have it: a client's FIN ends the session (the
          // front allows half-open for HTTP/1.1; a session left half-open never closed).
          socket.allowHalfOpen = false;
          server.emit("connection", socket); // stays paused: node:http2 reads the buffer first
          return;
        }
        http1(socket);
        if (socket.isPaused()) socket.resume();
      };
      const onData = (chunk: Buffer): void => {
        got = got === null ? chunk : Buffer.concat([got, chunk]);
        const n = Math.min(got.length, PREFACE.length);
        const h2 = got.compare(PREFACE, 0, n, 0, n) === 0;
        if (!h2 || got.length >= PREFACE.length) decide(h2); // else: a prefix of it so far
      };
      // A reset before the first bytes: nothing to serve (the services count their own errors).
      const onError = (): void => {
        clearTimeout(timer);
        socket.destroy();
      };
      const timer = setTimeout(() => decide(false), waitMs);
      socket.on("data", onData);
      socket.on("error", onError);
    },
    session(socket) {
      server.emit("connection", socket);
    },
    drain() {
      server.close();
      for (const s of sessions) s.close();
    },
  };
}

/**
 * Over TLS (--http2 on with --tls-cert), ALPN decides: `server` (node:https, made offering h2
 * and http/1.1) gives a connection whose client chose h2 to node:http2, any other to its own
 * HTTP/1.1 listener, so node:https keeps its timeouts, upgrades and errors as they are.
 */
export function byAlpn(server: NetServer, h2: H2c): void {
  const listeners = server.listeners("secureConnection") as ((socket: TLSSocket) => void)[];
  const [http1] = listeners;
  if (listeners.length !== 1 || http1 === undefined)
    throw new Error("byAlpn: node:https no longer serves TLS connections from one listener");
  server.removeListener("secureConnection", http1);
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") h2.session(socket);
    else http1.call(server, socket);
  });
}
