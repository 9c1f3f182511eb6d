/**
 * The HTTP fast path (docs/ARCHITECTURE.md, "HTTP fast path"): a connection starts here. A read
 * made only of whole requests that fast-head.ts recognises (small bodies to echo back) is
 * answered, byte for byte as node:http would answer it, in one write. The first read that holds
 * anything else — another kind of request, a request split across reads, a malformed one — is
 * put back in front of the stream and the connection goes to node:http for good, which answers
 * or rejects it as it always did.
 *
 * It holds nothing between reads: what it cannot answer from one read is node:http's. So its
 * only buffer is the socket's outgoing queue: reads pause while the client does not take its
 * answers, and what waits is held against the loop's --http-buffer share, as node:http's path
 * holds its bodies and answers.
 */
import type { Socket } from "node:net";
import type { ByteBudget } from "../loop/byte-budget.ts";
import type { Faults } from "../loop/faults.ts";
import type { Tally } from "../loop/tally.ts";
import { FastConnection } from "./fast-connection.ts";
import { FAILED_TEXT } from "./reply.ts";

export interface FastPathOptions {
  readonly maxBody: number;
  /** node:http's keep-alive timeout (ms): an idle connection is closed after it. */
  keepAliveMs(): number;
  /** --header-timeout: a connection that sends no request in this time gets 408 (ms). */
  readonly headerTimeoutMs: number;
  /** The loop's share of --http-buffer: answers not yet taken by their client are held in it. */
  readonly budget: ByteBudget;
  /** Draining: every answer says `connection: close`, and the connection closes after it. */
  draining(): boolean;
  /** Every read goes to node:http now (faults for every answer are on). */
  off(): boolean;
  /** Give the socket to node:http, with this read first (unanswered). */
  slow(socket: Socket, read: Buffer): void;
  readonly faults: Faults;
  readonly tally: Tally;
}

export class FastPath {
  readonly #o: FastPathOptions;
  /**
   * The loop's connections on the fast path read into this one buffer (loop/user-reads.ts): a
   * read is answered, or copied for node:http, before the next read overwrites it.
   */
  readonly buffer = Buffer.allocUnsafe(64 * 1024);
  /** The connections on the fast path now (closed at drain). */
  readonly #live = new Set<Socket>();
  readonly #date = new DateHeader();
  #last = { length: -1, date: "", ka: -1, text: "" };

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
    // The common answer (no type, kept alive) of the last length, made again only when the
    // length, the second or the keep-alive timeout changes.
    const plain = type === undefined && !close && !draining;
    const date = this.#date.now();
    const ka = this.#o.keepAliveMs();
    const last = this.#last;
    if (plain && last.length === length && last.date === date && last.ka === ka) return last.text;
    const text = this.#head(type, length, close, draining, date, ka);
    if (plain) this.#last = { length, date, ka, text };
    return text;
  }

  #head(
    type: string | undefined,
    length: number,
    close: boolean,
    draining: boolean,
    date: string,
    keepAliveMs: number,
  ): string {
    let h = "HTTP/1.1 200 OK\r\n";
    if (type !== undefined) h += `content-type: ${type}\r\n`;
    h += `content-length: ${length}\r\nx-content-type-options: nosniff\r\ncontent-security-policy: sandbox\r\n`;
    if (draining) h += "connection: close\r\n";
    h += `Date: ${date}\r\n`;
    if (draining) return `${h}\r\n`;
    if (close) return `${h}Connection: close\r\n\r\n`;
    return `${h}Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n\r\n`;
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
