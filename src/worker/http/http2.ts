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
import {
  constants,
  createServer as createH2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Tally } from "../loop/tally.ts";
import type { H2Fast } from "./h2-fast.ts";
import { streamOpened, trackIdle } from "./h2-idle.ts";
import { REQUEST_TIMEOUT_TEXT, SAFE } from "./reply.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Streams one session may have open at once (node:http2 sets no limit): the lowest RFC 9113
 * recommends, as nginx and Go have it. A session's memory is node's own bound (10 MB).
 */
export const MAX_STREAMS = 100;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface H2cOptions {
  /** A connection silent this long gets 408; a session with no stream open this long, GOAWAY. */
  readonly headerTimeoutMs: number;
  /** A stream whose request is not complete by then gets 408 and is reset (0: never). */
  readonly requestTimeoutMs: number;
  readonly tally: Tally;
  /** Answers the plain echoes itself (h2-fast.ts); null: every stream takes the request path. */
  readonly fast: H2Fast | null;
}

/** The headers every answer carries (reply.ts SAFE), as an object. */
const SAFE_HEADERS: Record<string, string> = {};
for (let i = 0; i < SAFE.length; i += 2) SAFE_HEADERS[SAFE[i] as string] = SAFE[i + 1] as string;

/** What node:http answers a connection that sent no request in time. */
const TIMEOUT_408 = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n";

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

export function h2c(onRequest: Handler, onError: () => void, o: H2cOptions): H2c {
  const request = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    if (o.requestTimeoutMs > 0) requestDeadline(req, res, o);
    onRequest(req as never, res as never);
  };
  const server: Http2Server = createH2Server(
    { settings: { maxConcurrentStreams: MAX_STREAMS } },
    request,
  );
  routeStreams(server, o.fast);
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", onError);
    trackIdle(session, o.headerTimeoutMs, o.tally);
  });
  return {
    take(socket, http1, waitMs) {
      sniff(socket, waitMs, o.tally, (h2) => {
        if (h2) {
          // As node:http2's own server would have it: a client's FIN ends the session (the
          // front allows half-open for HTTP/1.1; a session left half-open never closed).
          socket.allowHalfOpen = false;
          server.emit("connection", socket); // stays paused: node:http2 reads the buffer first
          return;
        }
        http1(socket);
        if (socket.isPaused()) socket.resume();
      });
    },
    session(socket) {
      server.emit("connection", socket);
    },
    drain() {
      server.close();
      for (const s of sessions) s.close();
      o.fast?.stop();
    },
  };
}

/**
 * Read a new connection's first bytes until they tell the preface from anything else; then
 * `decided(h2)`, the socket paused with what was read put back in front of its stream.
 */
function sniff(socket: Socket, waitMs: number, tally: Tally, decided: (h2: boolean) => void): void {
  let got: Buffer | null = null;
  const decide = (h2: boolean): void => {
    clearTimeout(timer);
    socket.removeListener("data", onData);
    socket.removeListener("error", onError);
    socket.removeListener("end", onEnd);
    socket.pause();
    if (got !== null) socket.unshift(got);
    decided(h2);
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
  // The client's FIN before its bytes tell which protocol: no request came, and none can (it
  // waited for the header timeout; found by the HTTP fast path's differential test).
  const onEnd = (): void => {
    clearTimeout(timer);
    socket.removeListener("data", onData);
    socket.end();
  };
  // Silent for the whole header timeout: node:http's answer, now (handing the connection on
  // would start its header timer again: 408 after twice the timeout).
  const timer = setTimeout(() => {
    if (got !== null || waitMs === 0) {
      decide(false);
      return;
    }
    tally.limits.headerTimeout++;
    socket.removeListener("data", onData);
    socket.end(TIMEOUT_408);
    socket.destroySoon();
  }, waitMs);
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("end", onEnd);
}

type OnStream = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  raw: string[],
) => void;

/**
 * Streams go to the fast path first, if there is one, and to the compatibility API's own listener
 * (which makes the request and response objects and emits 'request') when it does not take them.
 * Each is counted open on its session (h2-idle.ts); the fast path's close listener counts its
 * close.
 */
function routeStreams(server: Http2Server, fast: H2Fast | null): void {
  const listeners = server.listeners("stream") as OnStream[];
  const [compat] = listeners;
  if (listeners.length !== 1 || compat === undefined)
    throw new Error("h2c: node:http2 no longer serves its compatibility API from one listener");
  server.removeListener("stream", compat);
  server.on("stream", ((stream, headers, flags, raw) => {
    const taken = fast?.take(stream, headers, raw) === true;
    streamOpened(stream, !taken);
    if (!taken) compat.call(server, stream, headers, flags, raw);
  }) as OnStream);
}

/**
 * --request-timeout on HTTP/2: a request whose body is not in by then is answered 408 (or its
 * answer cut) and its stream reset; the session and its other streams go on.
 */
function requestDeadline(req: Http2ServerRequest, res: Http2ServerResponse, o: H2cOptions) {
  // Whole already: its HEADERS ended the stream (a GET). The compat request's own 'end' comes
  // only once a handler reads it, which an event stream's never does.
  if (req.complete || res.stream.endAfterHeaders) return;
  const timer = setTimeout(() => {
    if (req.complete || res.stream.destroyed || received(res)) return;
    o.tally.limits.requestTimeout++;
    if (!res.headersSent) {
      try {
        res.writeHead(408, { "content-type": "text/plain", ...SAFE_HEADERS });
        res.end(REQUEST_TIMEOUT_TEXT);
      } catch {
        // the reset below is the answer
      }
    }
    // RFC 9113 8.1: after a complete answer, NO_ERROR asks the client to stop sending.
    res.stream.close(res.headersSent ? constants.NGHTTP2_NO_ERROR : constants.NGHTTP2_CANCEL);
  }, o.requestTimeoutMs);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  res.once("close", () => clearTimeout(timer));
}

/** The client's END_STREAM has come (whether or not a handler has read what came before it). */
function received(res: Http2ServerResponse): boolean {
  return (res.stream as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
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
