/**
 * One connection on the HTTP fast path (fast.ts): its reads, answered whole or handed to
 * node:http, its timers (node:http's header and keep-alive timeouts) and its share of the
 * outgoing bytes held against --http-buffer.
 */
import type { Socket } from "node:net";
import { type OnRead, pushCopy, userReads } from "../loop/user-reads.ts";
import type { FastPath, FastPathOptions } from "./fast.ts";
import { type Head, parseHead } from "./fast-head.ts";

type Echo = Extract<Head, { kind: "echo" }>;

/** Reading to answer; handed to node:http (reads go on as 'data'); closing (reads dropped). */
type State = "fast" | "node" | "gone";

export class FastConnection {
  readonly #socket: Socket;
  readonly #path: FastPath;
  readonly #o: FastPathOptions;
  /** Before the first answer: the header timeout (408); after it: the keep-alive timeout. */
  #idle: NodeJS.Timeout;
  #answered = false;
  /** Bytes of answers written but not yet taken by the client, held against the budget. */
  #held = 0;
  /** The heads of one read's requests, the first #count of them (the array is reused: setting
   * its length to 0 would give back its storage, and each read would grow it again). */
  readonly #heads: Echo[] = [];
  #count = 0;
  /** When the last answer went (Date.now()), for the keep-alive timeout. */
  #lastMs = 0;
  #state: State = "fast";
  readonly #onRead: OnRead = (bytes, buffer) => {
    if (this.#state === "fast") this.#read(buffer, bytes);
    else if (this.#state === "node") return pushCopy(this.#socket, bytes, buffer);
    return true;
  };
  readonly #onData = (chunk: Buffer): void => this.#read(chunk, chunk.length);
  readonly #onDrain = (): void => {
    this.#o.budget.give(this.#held);
    this.#held = 0;
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
    // 'data' brings what a front read and put back (the h2c preface check, a PROXY header's
    // gate), and every read where the socket cannot read into the loop's buffer.
    socket.on("data", this.#onData);
    socket.on("drain", this.#onDrain);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
    userReads(socket, path.buffer, this.#onRead);
  }

  readonly #onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === "ECONNRESET" || err.code === "EPIPE") this.#o.tally.errors.connection++;
    else this.#o.tally.errors.http++;
  };

  /** A read: the first `bytes` of `chunk`. */
  #read(chunk: Buffer, bytes: number): void {
    try {
      this.#answer(chunk, bytes);
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
  #answer(chunk: Buffer, bytes: number): void {
    const o = this.#o;
    const close = o.off() ? null : this.#parse(chunk, bytes);
    if (close === null) {
      this.#toNode(chunk, bytes);
      return;
    }
    const heads = this.#heads;
    const count = this.#count;
    let out = "";
    for (let k = 0; k < count; k++) {
      const head = heads[k] as Echo;
      // latin1 maps each byte to one character and back: the body goes out byte-exact.
      const body = chunk.toString("latin1", head.end, head.end + head.length);
      out += this.#path.head(head.type, head.length, close && k === count - 1) + body;
    }
    // Answers the client has not taken yet are held against the loop's --http-buffer share;
    // when it is full the read goes to node:http, which answers 503 as it does when full.
    if (!o.budget.take(out.length)) {
      this.#toNode(chunk, bytes);
      return;
    }
    o.tally.messages.http += count;
    o.tally.fast.httpFast += count;
    if (close) {
      o.budget.give(out.length);
      this.#leave(false);
      this.#socket.end(out, "latin1");
      return;
    }
    if (this.#socket.write(out, "latin1")) o.budget.give(out.length);
    else {
      this.#held += out.length;
      this.#socket.pause();
    }
    this.#rearm();
  }

  /**
   * The heads of the read's requests (in #heads) if every request in it is one of ours and
   * complete, with a `close` only last: then whether the last answer closes; else null.
   */
  #parse(chunk: Buffer, bytes: number): boolean | null {
    const heads = this.#heads;
    let count = 0;
    this.#count = 0;
    let at = 0;
    let close = false;
    while (at < bytes && !close) {
      const head = parseHead(chunk, at, bytes, this.#o.maxBody);
      if (head.kind !== "echo" || bytes - head.end < head.length) return null;
      heads[count++] = head;
      this.#count = count;
      at = head.end + head.length;
      close = head.close;
    }
    return at < bytes ? null : close || this.#o.draining();
  }

  #toNode(chunk: Buffer, bytes: number): void {
    this.#leave(true);
    // The reused buffer is the next read's: node:http gets a copy of this one.
    const read = chunk === this.#path.buffer ? Buffer.copyBytesFrom(chunk, 0, bytes) : chunk;
    this.#o.slow(this.#socket, read);
  }

  /**
   * After an answer: node:http's keep-alive timeout (0: never) closes an idle connection. Its one
   * timer is not moved at each answer (a refresh is a timer list insert, about 300 instructions an
   * answer under callgrind): when it fires early, it is set again for what is left.
   */
  #rearm(): void {
    this.#lastMs = Date.now();
    if (this.#answered) return;
    this.#answered = true;
    clearTimeout(this.#idle);
    this.#idle = this.#keepAlive(this.#o.keepAliveMs() || 2 ** 31 - 1);
  }

  #keepAlive(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const left = (this.#o.keepAliveMs() || 2 ** 31 - 1) - (Date.now() - this.#lastMs);
      if (left > 0) this.#idle = this.#keepAlive(left);
      else this.#socket.destroy();
    }, ms);
    timer.unref();
    return timer;
  }

  /**
   * Off the fast path: to node:http (`toNode`: which counts the socket's errors from now on), or
   * closing (our error listener stays, so a late reset is counted, not thrown).
   */
  #leave(toNode: boolean): void {
    const socket = this.#socket;
    this.#state = toNode ? "node" : "gone";
    clearTimeout(this.#idle);
    // The socket sends what is queued, or is closed; either way this connection holds nothing.
    this.#o.budget.give(this.#held);
    this.#held = 0;
    this.#path.track(socket, false);
    socket.off("data", this.#onData);
    socket.off("drain", this.#onDrain);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onClose);
    if (toNode) socket.off("error", this.#onError);
  }
}
