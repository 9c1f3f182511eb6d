/**
 * The HTTP fast path (docs/ARCHITECTURE.md, "HTTP fast path"): a connection starts here. A read
 * made only of whole requests that http-head.ts recognises (small bodies to echo back) is
 * answered, byte for byte as node:http would answer it, in one write. The first read that holds
 * anything else — another kind of request, a request split across reads, a malformed one — is
 * put back in front of the stream and the connection goes to node:http for good, which answers
 * or rejects it as it always did.
 *
 * It holds nothing between reads: what it cannot answer from one read is node:http's. So its
 * only buffer is the socket's outgoing queue, bounded by pausing the reads while the client does
 * not take its answers.
 */
import type { Socket } from "node:net";
import type { Faults } from "./faults.ts";
import { type Head, parseHead } from "./http-head.ts";

type Echo = Extract<Head, { kind: "echo" }>;

import type { Tally } from "./tally.ts";

export interface FastPathOptions {
  readonly maxBody: number;
  /** node:http's keep-alive timeout (ms): an idle connection is closed after it. */
  keepAliveMs(): number;
  /** --header-timeout: a connection that sends no request in this time gets 408 (ms). */
  readonly headerTimeoutMs: number;
  /** Draining: every answer says `connection: close`, and the connection closes after it. */
  draining(): boolean;
  /** Give the socket to node:http, with this read first (unanswered). */
  slow(socket: Socket, read: Buffer): void;
  readonly faults: Faults;
  readonly tally: Tally;
}

/** The answer to a request our code failed on, as node:http's path gives it (http.ts). */
const FAILED_TEXT = "internal error; this connection is closed\n";

export class FastPath {
  readonly #o: FastPathOptions;
  /** The connections on the fast path now (closed at drain). */
  readonly #live = new Set<Socket>();
  readonly #date = new DateHeader();

  constructor(o: FastPathOptions) {
    this.#o = o;
  }

  /** A new connection (admitted already). */
  take(socket: Socket): void {
    new FastConnection(socket, this, this.#o);
  }

  /** Close the connections here: between reads none is inside a request. */
  drain(): void {
    for (const socket of this.#live) socket.end();
  }

  track(socket: Socket, on: boolean): void {
    if (on) this.#live.add(socket);
    else this.#live.delete(socket);
  }

  /** The status line and headers of a 200 echo of `length` bytes, as node:http writes them. */
  head(type: string | undefined, length: number, close: boolean): string {
    const draining = this.#o.draining();
    let h = "HTTP/1.1 200 OK\r\n";
    if (type !== undefined) h += `content-type: ${type}\r\n`;
    h += `content-length: ${length}\r\nx-content-type-options: nosniff\r\ncontent-security-policy: sandbox\r\n`;
    if (draining) h += "connection: close\r\n";
    h += `Date: ${this.#date.now()}\r\n`;
    if (draining) return `${h}\r\n`;
    if (close) return `${h}Connection: close\r\n\r\n`;
    const ka = Math.floor(this.#o.keepAliveMs() / 1000);
    return `${h}Connection: keep-alive\r\nKeep-Alive: timeout=${ka}\r\n\r\n`;
  }

  failed(): string {
    return (
      "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n" +
      `content-length: ${FAILED_TEXT.length}\r\nconnection: close\r\n` +
      "x-content-type-options: nosniff\r\ncontent-security-policy: sandbox\r\n" +
      `Date: ${this.#date.now()}\r\n\r\n${FAILED_TEXT}`
    );
  }
}

class FastConnection {
  readonly #socket: Socket;
  readonly #path: FastPath;
  readonly #o: FastPathOptions;
  /** Before the first answer: the header timeout (408); after it: the keep-alive timeout. */
  #idle: NodeJS.Timeout;
  #answered = false;
  /** The heads of one read's requests (reused: nothing allocated per read for it). */
  readonly #heads: Echo[] = [];
  readonly #onData = (chunk: Buffer): void => this.#read(chunk);
  readonly #onDrain = (): void => {
    this.#socket.resume();
  };
  readonly #onEnd = (): void => {
    this.#socket.end();
  };
  readonly #onClose = (): void => this.#leave(false);

  constructor(socket: Socket, path: FastPath, o: FastPathOptions) {
    this.#socket = socket;
    this.#path = path;
    this.#o = o;
    // node:http answers 408 to a connection that sends no request within the header timeout.
    this.#idle = setTimeout(() => {
      o.tally.limits.headerTimeout++;
      this.#leave(false);
      socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
      socket.destroySoon();
    }, o.headerTimeoutMs);
    this.#idle.unref();
    path.track(socket, true);
    socket.on("data", this.#onData);
    socket.on("drain", this.#onDrain);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  readonly #onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === "ECONNRESET" || err.code === "EPIPE") this.#o.tally.errors.connection++;
    else this.#o.tally.errors.http++;
  };

  #read(chunk: Buffer): void {
    try {
      this.#answer(chunk);
    } catch (err) {
      this.#o.faults.caught(err, "http");
      this.#leave(false);
      this.#socket.end(this.#path.failed(), "latin1");
    }
  }

  /**
   * Answer the read if every request in it is one of ours, complete, with a `close` only last;
   * else hand all of it to node:http, which then sees exactly the reads it would have seen
   * without us (the reads before were answered in full, as node:http would have answered them
   * before reading on).
   */
  #answer(chunk: Buffer): void {
    const o = this.#o;
    const heads = this.#heads;
    heads.length = 0;
    let at = 0;
    let close = false;
    while (at < chunk.length && !close) {
      const head = parseHead(chunk, at, o.maxBody);
      if (head.kind !== "echo" || chunk.length - head.end < head.length) break;
      heads.push(head);
      at = head.end + head.length;
      close = head.close;
    }
    if (at < chunk.length) {
      this.#leave(true);
      o.slow(this.#socket, chunk);
      return;
    }
    close ||= o.draining();
    let out = "";
    for (const [k, head] of heads.entries()) {
      // latin1 maps each byte to one character and back: the body goes out byte-exact.
      const body = chunk.toString("latin1", head.end, head.end + head.length);
      out += this.#path.head(head.type, head.length, close && k === heads.length - 1) + body;
    }
    o.tally.messages.http += heads.length;
    o.tally.fast.httpFast += heads.length;
    if (close) {
      this.#leave(false);
      this.#socket.end(out, "latin1");
      return;
    }
    if (!this.#socket.write(out, "latin1")) this.#socket.pause();
    if (this.#answered) this.#idle.refresh();
    else {
      // From now on node:http's keep-alive timeout (0: never) closes it when idle.
      this.#answered = true;
      clearTimeout(this.#idle);
      const socket = this.#socket;
      this.#idle = setTimeout(() => socket.destroy(), o.keepAliveMs() || 2 ** 31 - 1);
      this.#idle.unref();
    }
  }

  /**
   * Off the fast path: to node:http (`toNode`: which counts the socket's errors from now on), or
   * closing (our error listener stays, so a late reset is counted, not thrown).
   */
  #leave(toNode: boolean): void {
    const socket = this.#socket;
    clearTimeout(this.#idle);
    this.#path.track(socket, false);
    socket.off("data", this.#onData);
    socket.off("drain", this.#onDrain);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onClose);
    if (toNode) socket.off("error", this.#onError);
  }
}

/** node:http's Date header: the current second, formatted once per second. */
class DateHeader {
  #second = -1;
  #text = "";

  now(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#text = new Date(second * 1000).toUTCString();
    }
    return this.#text;
  }
}
