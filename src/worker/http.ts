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
 * never runs what a page made it reflect.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TlsMaterial } from "../tls.ts";
import type { ByteBudget } from "./byte-budget.ts";
import { describeRequest, type Served, wantsJson } from "./describe-request.ts";
import type { Faults } from "./faults.ts";
import { clientErrorHandler } from "./http-errors.ts";
import { afterOwed, owe } from "./http-owed.ts";
import { ignore } from "./ignore.ts";
import type { Tally } from "./tally.ts";
import type { Work } from "./work.ts";

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
}

export interface HttpEcho {
  readonly server: Server;
  /** Stop: from now on every response says `connection: close`, so keep-alive clients move on. */
  drain(): void;
  /** drain() was called. */
  draining(): boolean;
}

/** The answer to a request our code failed on (500), on node:http's path and the fast path. */
export const FAILED_TEXT = "internal error; this connection is closed\n";
/** Node's default request timeout (whole request), kept unless the header timeout is longer. */
const REQUEST_TIMEOUT_MS = 300_000;
/** Bodies up to this size go out with their headers in one write (see respond). */
const ONE_WRITE_MAX = 4096;
const EMPTY = Buffer.alloc(0);
/** Sent with every answer: never sniff an echoed body, never run it as a page (no scripts). */
const SAFE = ["x-content-type-options", "nosniff", "content-security-policy", "sandbox"];
/** Bytes of the budget a response holds until it closes. */
const HELD = Symbol("echoplex.held");
type Held = ServerResponse & { [HELD]?: number };

export function createHttpEcho(o: HttpEchoOptions): HttpEcho {
  const echo = new Echo(o);
  const options = {
    headersTimeout: o.headerTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, o.headerTimeoutMs),
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
          { ...options, ...o.tls, handshakeTimeout: o.handshakeTimeoutMs },
          onRequest,
        ) as unknown as Server);
  server.on("clientError", clientErrorHandler(o.tally));
  // CONNECT asks for a tunnel, which an echo does not open (node:http would just close).
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", ignore);
    // After the answers owed to requests pipelined before it (http-owed.ts).
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
  };
}

class Echo {
  draining = false;
  readonly #o: HttpEchoOptions;
  /** Gives a response's held bytes back when it closes (one listener for every response). */
  readonly #release: (this: Held) => void;

  constructor(o: HttpEchoOptions) {
    this.#o = o;
    const budget = o.budget;
    this.#release = function (this: Held) {
      budget.give(this[HELD] ?? 0);
      this[HELD] = 0;
    };
  }

  /** One request; whatever our code throws answers 500 (or cuts the response) and closes. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    try {
      this.#request(req, res, expectsContinue);
    } catch (err) {
      this.#fail(res, err);
    }
  }

  #request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    this.#o.tally.messages.http++;
    owe(req.socket, req, res);
    const { maxBody, work } = this.#o;
    const declared = req.headers["content-length"];
    const length = declared === undefined ? -1 : Number(declared);
    if (length > maxBody) {
      this.#tooLarge(res);
      return;
    }
    if (expectsContinue) res.writeContinue();
    // A larger body of known length, to echo as it is (no JSON, no digest to put first): stream
    // it back as it arrives, so the connection holds socket buffers, not the body.
    if (length > ONE_WRITE_MAX && work === null && !describes(req)) {
      res.writeHead(200, this.#headers(req.headers["content-type"], length));
      req.pipe(res);
      return;
    }
    this.#gather(req, res);
  }

  /** Collect the body (held against the budget), then answer it. */
  #gather(req: IncomingMessage, res: Held): void {
    const { maxBody } = this.#o;
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let refused = false;
    res[HELD] = 0;
    res.once("close", this.#release);
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      // A chunked body that outgrew the limit, or the loop is full: answer once, ignore the rest.
      if (size > maxBody) {
        refused = true;
        if (!res.headersSent) this.#tooLarge(res);
        return;
      }
      if (!this.#hold(res, chunk.length)) {
        refused = true;
        return;
      }
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      try {
        this.#finish(req, res, chunks === undefined ? first : Buffer.concat(chunks, size));
      } catch (err) {
        this.#fail(res, err);
      }
    });
    req.on("error", ignore);
  }

  /** Hold `n` more bytes for `res`, or answer 503 and close. */
  #hold(res: Held, n: number): boolean {
    if (this.#o.budget.take(n)) {
      res[HELD] = (res[HELD] ?? 0) + n;
      return true;
    }
    this.#o.tally.limits.httpBuffer++;
    if (!res.headersSent) {
      closeWith(res, 503, "this server holds as many HTTP bytes as --http-buffer allows; retry\n");
    } else res.destroy();
    return false;
  }

  #finish(req: IncomingMessage, res: Held, body: Buffer | undefined): void {
    const digest = this.#o.work?.digest(body ?? EMPTY);
    if (digest === undefined || typeof digest === "string") {
      this.#respond(req, res, body, digest);
      return;
    }
    digest.then(
      (d) => {
        try {
          this.#respond(req, res, body, d);
        } catch (err) {
          this.#fail(res, err);
        }
      },
      () => res.destroy(),
    );
  }

  #respond(req: IncomingMessage, res: Held, body: Buffer | undefined, digest?: string): void {
    const json = body === undefined || describes(req);
    const text = json ? describeRequest(req, body, this.#o.served) : undefined;
    const length = text === undefined ? (body as Buffer).length : Buffer.byteLength(text);
    // The body is held already; a description is held as well until it is sent.
    if (text !== undefined && !this.#hold(res, length)) return;
    const type = json ? "application/json" : req.headers["content-type"];
    res.writeHead(200, this.#headers(type, length, digest));
    // node:http sends the headers and a first body chunk in one write only when the chunk is a
    // utf8 or latin1 string; a Buffer costs a second buffer in a writev. latin1 maps each byte to
    // one character and back, so a small body goes as a string, byte-exact, in one write.
    if (text !== undefined) res.end(text);
    else if (length <= ONE_WRITE_MAX) res.end((body as Buffer).toString("latin1"), "latin1");
    else res.end(body);
  }

  /**
   * The response headers as a flat array, node:http's fastest path (no per-header object work).
   * A body sent without a content-type comes back without one.
   */
  #headers(type: string | undefined, length: number, digest?: string): string[] {
    const h =
      type === undefined
        ? ["content-length", String(length), ...SAFE]
        : ["content-type", type, "content-length", String(length), ...SAFE];
    if (digest !== undefined) h.push("x-echoplex-digest", digest);
    if (this.draining) h.push("connection", "close");
    return h;
  }

  #tooLarge(res: ServerResponse): void {
    this.#o.tally.limits.maxBody++;
    // The body is not read: close the connection rather than read it to keep the connection.
    closeWith(res, 413, `request body larger than --max-body (${this.#o.maxBody} bytes)\n`);
  }

  #fail(res: ServerResponse, err: unknown): void {
    this.#o.faults.caught(err, "http");
    if (res.headersSent) res.destroy();
    else closeWith(res, 500, FAILED_TEXT);
  }
}

/** Answer `status` with a short text and close the connection. */
function closeWith(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, [
    "content-type",
    "text/plain",
    "content-length",
    String(Buffer.byteLength(text)),
    "connection",
    "close",
    ...SAFE,
  ]);
  res.end(text);
}

/** Is the answer to `req` a JSON description (GET, HEAD, or asked for), whatever its body? */
function describes(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || wantsJson(req);
}
