/**
 * One HTTP request on node:http's path (http.ts makes the server): the body gathered within
 * --max-body and the loop's --http-buffer share, or a large one streamed back; the answer an
 * echo, a JSON description, or what response control asks (control.ts, answer.ts);
 * /sse (sse.ts) and CORS preflights (cors.ts) routed first. Our own exception answers
 * 500 and closes that connection only.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { FaultSpecError } from "../../fault-spec.ts";
import { answer, isTimed } from "../answers/answer.ts";
import { type Control, readControl } from "../answers/control.ts";
import { isPreflight, preflight } from "../answers/cors.ts";
import { isSse, sseParams, streamEvents } from "../answers/sse.ts";
import { type Timed, TimedAnswers } from "../answers/timed.ts";
import type { HttpbinHost } from "../httpbin/exchange.ts";
import { notFound, serve } from "../httpbin/httpbin.ts";
import { isHttpbinSegment, type Match, matchRoute, NOT_FOUND } from "../httpbin/routes.ts";
import { ignore } from "../loop/ignore.ts";
import { describeRequest, splitTarget } from "./describe-request.ts";
import { type Held, Holds, NONE } from "./held.ts";
import { owe } from "./owed.ts";
import { describes, isHttp2, REQUEST_COST, SAFE, sendContinue, writeHeadInOrder } from "./reply.ts";
import type { HttpEchoOptions } from "./server.ts";

/** Bodies up to this size go out with their headers in one write (see respond). */
const ONE_WRITE_MAX = 4096;
const EMPTY = Buffer.alloc(0);
const CLOSING: readonly string[] = ["connection", "close"];

export class Echo {
  draining = false;
  readonly #o: HttpEchoOptions;
  /** What each response holds of the budget, and the short answers (413, 503, 500). */
  readonly #holds: Holds;
  /** Delayed and streamed answers: capped, and ended when their clients go. */
  readonly #timed: TimedAnswers;
  /** What the httpbin endpoints answer with (null: --httpbin off). */
  readonly #bin: HttpbinHost | null;

  constructor(o: HttpEchoOptions) {
    this.#o = o;
    const holds = new Holds(o);
    this.#holds = holds;
    this.#bin = o.httpbin
      ? {
          common: (req) => [...SAFE, ...this.#closing(req), ...holds.cors(req)],
          hold: (res, n) => holds.hold(res, n),
          begin: (res) => this.#begin(res),
          fail: (res, err) => holds.fail(res, err),
          dice: o.dice,
          maxDelayMs: o.maxDelayMs,
          unsafeResponses: o.unsafeResponses,
        }
      : null;
    this.#timed = new TimedAnswers(o.maxStreaming, o.maxDelayMs, (res, err) =>
      holds.fail(res, err),
    );
  }

  /** One request; whatever our code throws answers 500 (or cuts the response) and closes. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    try {
      this.#request(req, res, expectsContinue);
    } catch (err) {
      this.#holds.fail(res, err);
    }
  }

  #request(req: IncomingMessage, res: Held, expectsContinue: boolean): void {
    this.#o.tally.messages.http++;
    this.#o.access?.request(req, res, isHttp2(req) ? "http2" : "http");
    // HTTP/2 multiplexes its requests: nothing is owed in order, and the socket is not ours.
    if (!isHttp2(req)) owe(req.socket, req, res);
    this.#holds.attach(res);
    if (!this.#holds.hold(res, REQUEST_COST)) return;
    const { maxBody, work } = this.#o;
    if (this.#o.cors && isPreflight(req)) {
      preflight(req, res, this.#closing(req));
      return;
    }
    if (isSse(req)) {
      this.#events(req, res);
      return;
    }
    let control: Control | null = null;
    if (this.#o.responseControl || this.#o.defaults.plan !== null) {
      try {
        control = readControl(req, this.#o);
      } catch (err) {
        if (!(err instanceof FaultSpecError)) throw err;
        this.#holds.close(res, 400, `${err.message}\n`);
        return;
      }
      if (control !== null) {
        const counts = this.#o.tally.faults[isHttp2(req) ? "http2" : "http"];
        for (const kind of control.injected) counts[kind]++;
      }
    }
    // httpbin's paths, unless response control or a fault shapes this answer.
    const bin = control === null && this.#bin !== null ? this.#route(req) : null;
    const declared = req.headers["content-length"];
    const length = declared === undefined ? -1 : Number(declared);
    if (length > maxBody) {
      this.#holds.tooLarge(res);
      return;
    }
    if (expectsContinue) sendContinue(res);
    if (bin !== null) {
      this.#gather(req, res, null, (body) => this.#httpbin(req, res, bin, body));
      return;
    }
    // A larger body of known length, to echo as it is (no JSON, no digest to put first): stream
    // it back as it arrives, so the connection holds socket buffers, not the body.
    if (control === null && length > ONE_WRITE_MAX && work === null && !describes(req)) {
      writeHeadInOrder(res, 200, this.#headers(req, req.headers["content-type"], length));
      req.pipe(res);
      return;
    }
    this.#gather(req, res, control);
  }

  /** GET /sse: a stream of events (sse.ts), or 400 for parameters out of range. */
  #events(req: IncomingMessage, res: ServerResponse): void {
    const params = sseParams(req, this.#o);
    if (typeof params === "string") {
      this.#holds.close(res, 400, `${params}\n`);
      return;
    }
    const timed = this.#begin(res);
    if (timed === null) return;
    const extra = [...SAFE, ...this.#holds.cors(req)];
    extra.push(...this.#closing(req));
    streamEvents(res, params, extra, () => this.draining, timed, this.#o.maxDelayMs);
  }

  /** The httpbin endpoint `req` names, NOT_FOUND, or null (the echo's). */
  #route(req: IncomingMessage): Match | typeof NOT_FOUND | null {
    const url = req.url ?? "/";
    // Cheap test first: the root, and an origin-form path whose first segment is none of
    // httpbin's, are the echo's without splitting the target.
    if (url.length < 3) return null;
    if (url.charCodeAt(0) === 0x2f) {
      let end = 1;
      while (end < url.length && url[end] !== "/" && url[end] !== "?" && url[end] !== "#") end++;
      if (!isHttpbinSegment(url.slice(1, end))) return null;
    }
    return matchRoute(req.method ?? "", splitTarget(url).path);
  }

  #httpbin(
    req: IncomingMessage,
    res: ServerResponse,
    m: Match | typeof NOT_FOUND,
    body: Buffer | undefined,
  ) {
    const x = {
      req,
      res,
      body,
      params: m === NOT_FOUND ? [] : m.params,
      host: this.#bin as HttpbinHost,
    };
    if (m === NOT_FOUND) notFound(x);
    else serve(x, m);
  }

  /** Collect the body (held against the budget), then answer it (or hand it to `then`). */
  #gather(
    req: IncomingMessage,
    res: Held,
    control: Control | null,
    then?: (body: Buffer | undefined) => void,
  ): void {
    const { maxBody } = this.#o;
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      // A chunked body that outgrew the limit, or the loop is full: answer once, ignore the rest.
      if (size > maxBody) {
        refused = true;
        if (!res.headersSent) this.#holds.tooLarge(res);
        return;
      }
      if (!this.#holds.hold(res, chunk.length)) {
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
        const body = chunks === undefined ? first : Buffer.concat(chunks, size);
        if (then !== undefined) then(body);
        else this.#finish(req, res, body, control);
      } catch (err) {
        this.#holds.fail(res, err);
      }
    });
    req.on("error", ignore);
  }

  /** A delayed or streamed answer's timer owner, or null having answered 503 (--max-streaming). */
  #begin(res: ServerResponse): Timed | null {
    const timed = this.#timed.begin(res);
    if (timed === null) {
      this.#o.tally.limits.streaming++;
      this.#holds.close(
        res,
        503,
        "this server streams as many answers as --max-streaming allows; retry\n",
      );
    }
    return timed;
  }

  #finish(req: IncomingMessage, res: Held, body: Buffer | undefined, c: Control | null): void {
    const digest = this.#o.work?.digest(body ?? EMPTY);
    if (digest === undefined || typeof digest === "string") {
      this.#respond(req, res, body, c, digest);
      return;
    }
    digest.then(
      (d) => {
        try {
          this.#respond(req, res, body, c, d);
        } catch (err) {
          this.#holds.fail(res, err);
        }
      },
      () => res.destroy(),
    );
  }

  #respond(
    req: IncomingMessage,
    res: Held,
    body: Buffer | undefined,
    c: Control | null,
    digest?: string,
  ): void {
    const json = body === undefined || describes(req);
    const text = json ? describeRequest(req, body, this.#o.served) : undefined;
    const length = text === undefined ? (body as Buffer).length : Buffer.byteLength(text);
    // The body is held already; a description is held as well until it is sent.
    if (text !== undefined && !this.#holds.hold(res, length)) return;
    const type =
      c !== null && c.bytes >= 0
        ? "application/octet-stream"
        : json
          ? "application/json"
          : req.headers["content-type"];
    if (c !== null) {
      const timed = isTimed(c) ? this.#begin(res) : null;
      if (isTimed(c) && timed === null) return;
      const echo = text === undefined ? (body as Buffer) : Buffer.from(text);
      answer(res, c, this.#headers(req, type, -1, digest), echo, timed);
      return;
    }
    writeHeadInOrder(res, 200, this.#headers(req, type, length, digest));
    // node:http sends the headers and a first body chunk in one write only when the chunk is a
    // utf8 or latin1 string; a Buffer costs a second buffer in a writev. latin1 maps each byte to
    // one character and back, so a small body goes as a string, byte-exact, in one write.
    if (text !== undefined) res.end(text);
    else if (length <= ONE_WRITE_MAX) res.end((body as Buffer).toString("latin1"), "latin1");
    else res.end(body);
  }

  /**
   * The response headers as a flat array, node:http's fastest path (no per-header object work).
   * A body sent without a content-type comes back without one; a length of -1 is left out.
   */
  #headers(req: IncomingMessage, type: string | undefined, length: number, digest?: string) {
    const h = type === undefined ? [] : ["content-type", type];
    if (length >= 0) h.push("content-length", String(length));
    h.push(...SAFE);
    if (digest !== undefined) h.push("x-echoplex-digest", digest);
    h.push(...this.#closing(req), ...this.#holds.cors(req));
    return h;
  }

  /** While draining, `connection: close` (HTTP/1: HTTP/2 has no such header; drain sends GOAWAY). */
  #closing(req: IncomingMessage): readonly string[] {
    return this.draining && !isHttp2(req) ? CLOSING : NONE;
  }
}
