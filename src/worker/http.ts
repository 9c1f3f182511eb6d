/**
 * HTTP/1.1 echo: a request with a body gets that body back byte-exact with its content-type (a
 * large one of known length streamed back as it arrives); GET and HEAD, a request without a
 * body, and any request asking for JSON get a JSON description of the request (describe.ts).
 * node:http (llhttp) does keep-alive, pipelining and chunked bodies, and detects malformed
 * requests, Content-Length with Transfer-Encoding, oversized headers and slow headers, which
 * onClientError counts and answers as node:http would (400, 400, 431, 408) before closing the
 * connection; bodies over --max-body get 413.
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
import { describe, type Served, wantsJson } from "./describe.ts";
import { tally } from "./tally.ts";
import type { Work } from "./work.ts";

export interface HttpEchoOptions {
  readonly maxBody: number;
  readonly headerTimeoutMs: number;
  readonly tls: TlsMaterial | null;
  readonly work: Work | null;
  readonly served: Served;
}

export interface HttpEcho {
  readonly server: Server;
  /** Stop: from now on every response says `connection: close`, so keep-alive clients move on. */
  drain(): void;
}

/** Node's default request timeout (whole request), kept unless the header timeout is longer. */
const REQUEST_TIMEOUT_MS = 300_000;

export function createHttpEcho(o: HttpEchoOptions): HttpEcho {
  const { maxBody, work, served } = o;
  let draining = false;

  function tooLarge(res: ServerResponse): void {
    tally.limits.maxBody++;
    const text = `request body larger than --max-body (${maxBody} bytes)\n`;
    // The body is not read: close the connection rather than read it to keep the connection.
    res.writeHead(413, {
      "content-type": "text/plain",
      "content-length": Buffer.byteLength(text),
      connection: "close",
    });
    res.end(text);
  }

  function respond(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    digest: string | undefined,
  ): void {
    const json = body === undefined || describes(req);
    const text = json ? describe(req, body, served) : undefined;
    const length = text === undefined ? (body as Buffer).length : Buffer.byteLength(text);
    const type = json ? "application/json" : req.headers["content-type"];
    res.writeHead(200, headers(type, length, digest));
    // node:http sends the headers and a first body chunk in one write only when the chunk is a
    // utf8 or latin1 string; a Buffer costs a second buffer in a writev. latin1 maps each byte to
    // one character and back, so a small body goes as a string, byte-exact, in one write.
    if (text !== undefined) res.end(text);
    else if (length <= ONE_WRITE_MAX) res.end((body as Buffer).toString("latin1"), "latin1");
    else res.end(body);
  }

  function finish(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void {
    const digest = work?.digest(body ?? EMPTY);
    if (digest === undefined || typeof digest === "string") {
      respond(req, res, body, digest);
      return;
    }
    digest.then(
      (d) => respond(req, res, body, d),
      () => res.destroy(),
    );
  }

  /**
   * The response headers as a flat array, node:http's fastest path (no per-header object work).
   * A body sent without a content-type comes back without one.
   */
  function headers(type: string | undefined, length: number, digest?: string): string[] {
    const h =
      type === undefined
        ? ["content-length", String(length)]
        : ["content-type", type, "content-length", String(length)];
    if (digest !== undefined) h.push("x-echoplex-digest", digest);
    if (draining) h.push("connection", "close");
    return h;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    tally.messages.http++;
    const declared = req.headers["content-length"];
    const length = declared === undefined ? -1 : Number(declared);
    if (length > maxBody) {
      tooLarge(res);
      return;
    }
    // A larger body of known length, to echo as it is (no JSON, no digest to put first): stream
    // it back as it arrives, so the connection holds socket buffers, not the body.
    if (length > ONE_WRITE_MAX && work === null && !describes(req)) {
      res.writeHead(200, headers(req.headers["content-type"], length));
      req.pipe(res);
      return;
    }
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        // A chunked body that outgrew the limit: answer once, ignore the rest, close.
        if (!res.headersSent) tooLarge(res);
        return;
      }
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > maxBody) return;
      finish(req, res, chunks === undefined ? first : Buffer.concat(chunks, size));
    });
    req.on("error", ignore);
  }

  const options = {
    headersTimeout: o.headerTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, o.headerTimeoutMs),
    // How often node:http looks for connections past those timeouts.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, o.headerTimeoutMs / 4)),
    // Keep-alive HTTP clients, like TCP echo clients, get no Nagle delay.
    noDelay: true,
  };
  const server: Server =
    o.tls === null
      ? createHttpServer(options, onRequest)
      : (createHttpsServer({ ...options, ...o.tls }, onRequest) as unknown as Server);
  server.on("clientError", onClientError);
  // Expect: 100-continue: refuse a declared oversized body before the client sends it.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > maxBody) return tooLarge(res);
    res.writeContinue();
    onRequest(req, res);
  });
  return {
    server,
    drain() {
      draining = true;
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** node:http's own answers to a bad request (lib/_http_server.js), by error code; else 400. */
const CLIENT_ERROR_REPLY: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "413 Payload Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
};

/**
 * A listener replaces node:http's default handling, so this counts the error and then does what
 * the default does: answer unless a response has started on this socket, and close.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code ?? "";
  if (code === "ECONNRESET" || code === "EPIPE") tally.errors.connection++;
  else if (code === "ERR_HTTP_REQUEST_TIMEOUT") tally.limits.headerTimeout++;
  else tally.errors.http++;
  const inFlight = (socket as { _httpMessage?: { _headerSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?._headerSent !== true) {
    socket.write(
      `HTTP/1.1 ${CLIENT_ERROR_REPLY[code] ?? "400 Bad Request"}\r\nConnection: close\r\n\r\n`,
    );
  }
  socket.destroy(err);
}

/** Is the answer to `req` a JSON description (GET, HEAD, or asked for), whatever its body? */
function describes(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || wantsJson(req);
}
/** Bodies up to this size go out with their headers in one write (see respond). */
const ONE_WRITE_MAX = 4096;
function ignore(): void {}
