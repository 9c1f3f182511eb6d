/**
 * HTTP/1.1 echo: a request with a body gets that body back byte-exact with its content-type (a
 * large one of known length streamed back as it arrives); GET and HEAD, a request without a
 * body, and any request asking for JSON get a JSON description of the request (describe-request.ts).
 * node:http (llhttp) does keep-alive, pipelining and chunked bodies, and detects malformed
 * requests, Content-Length with Transfer-Encoding, oversized headers and slow headers, which
 * onClientError counts and answers as node:http would (400, 400, 431, 408) before closing the
 * connection; bodies over --max-body get 413; a loop holding its share of --http-buffer answers
 * 503. Our own exception while serving a request answers 500 and closes that connection only.
 * Every echoed body goes back with `nosniff` and a sandboxing CSP: a browser pointed at the echo
 * never runs what a page made it reflect. This file makes the server; echo.ts answers each
 * request.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TlsMaterial } from "../../tls.ts";
import type { Dice, FaultDefaults } from "../answers/injected.ts";
import type { AccessLog } from "../loop/access-log.ts";
import type { ByteBudget } from "../loop/byte-budget.ts";
import type { Faults } from "../loop/faults.ts";
import { ignore } from "../loop/ignore.ts";
import type { Tally } from "../loop/tally.ts";
import type { Work } from "../work/work.ts";
import type { Served } from "./describe-request.ts";
import { Echo } from "./echo.ts";
import { afterOwed } from "./owed.ts";
import { clientErrorHandler } from "./rejections.ts";

export interface HttpEchoOptions {
  readonly maxBody: number;
  readonly headerTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly tls: TlsMaterial | null;
  readonly work: Work | null;
  readonly served: Served;
  /** Bytes of gathered bodies and unsent answers this loop may hold (its --http-buffer share). */
  readonly budget: ByteBudget;
  readonly faults: Faults;
  readonly tally: Tally;
  /** Requests may shape their answers (control.ts); how long an answer may take at most. */
  readonly responseControl: boolean;
  readonly maxDelayMs: number;
  /** Answers this loop may be delaying or streaming at once (then 503). */
  readonly maxStreaming: number;
  /** A request may set headers a browser acts on (header-rules.ts). */
  readonly unsafeResponses: boolean;
  /** --faults (or POST /faults since): what every answer may get unless asked otherwise; the dice. */
  readonly defaults: FaultDefaults;
  /** --access-log, or null. */
  readonly access: AccessLog | null;
  readonly dice: Dice;
  /** A request whose head and body take longer gets 408 (HTTP/2: a reset); 0: never. */
  readonly requestTimeoutMs: number;
  readonly cors: boolean;
  /** httpbin's endpoints answer their paths (worker/httpbin/). */
  readonly httpbin: boolean;
  /** --http2 on: over TLS, offer h2 beside http/1.1 by ALPN (http2.ts serves it). */
  readonly h2: boolean;
}

export interface HttpEcho {
  readonly server: Server;
  /** Stop: from now on every response says `connection: close`, so keep-alive clients move on. */
  drain(): void;
  /** drain() was called. */
  draining(): boolean;
  /** The request handler, for another server to answer with (HTTP/2, http2.ts). */
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

export function createHttpEcho(o: HttpEchoOptions): HttpEcho {
  const echo = new Echo(o);
  const options = {
    headersTimeout: o.headerTimeoutMs,
    // --request-timeout: head and body within it, or 408 (0: none; config keeps it >= headers).
    requestTimeout: o.requestTimeoutMs,
    // How often node:http looks for connections past those timeouts.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(o.headerTimeoutMs / 4))),
    // Keep-alive HTTP clients, like TCP echo clients, get no Nagle delay.
    noDelay: true,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => echo.request(req, res);
  const server: Server =
    o.tls === null
      ? createHttpServer(options, onRequest)
      : (createHttpsServer(
          {
            ...options,
            ...o.tls,
            handshakeTimeout: o.handshakeTimeoutMs,
            ...(o.h2 ? { ALPNProtocols: ["h2", "http/1.1"] } : {}),
          },
          onRequest,
        ) as unknown as Server);
  server.on("clientError", clientErrorHandler(o.tally));
  // CONNECT asks for a tunnel, which an echo does not open (node:http would just close).
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", ignore);
    // After the answers owed to requests pipelined before it (owed.ts).
    afterOwed(socket, () =>
      socket.end(
        "HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
      ),
    );
  });
  // Expect: 100-continue: refuse a declared oversized body before the client sends it.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) =>
    echo.request(req, res, true),
  );
  return {
    server,
    drain() {
      echo.draining = true;
    },
    draining: () => echo.draining,
    onRequest,
  };
}
