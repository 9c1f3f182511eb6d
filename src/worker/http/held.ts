/**
 * What node:http's path holds per answer, and its short answers: each response holds bytes of
 * the loop's --http-buffer share (its request's cost, its body, its description) and gives them
 * back when it closes, however it closes; a full budget answers 503, a body over --max-body
 * 413, our own exception 500. None of these throws.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { corsHeaders } from "../answers/cors.ts";
import type { ByteBudget } from "../loop/byte-budget.ts";
import type { Faults } from "../loop/faults.ts";
import type { Tally } from "../loop/tally.ts";
import { closeWith, FAILED_TEXT } from "./reply.ts";

/** Bytes of the budget a response holds until it closes. */
const HELD = Symbol("echoplex.held");
export type Held = ServerResponse & { [HELD]?: number };
/** No headers (one array for every answer that adds none). */
export const NONE: readonly string[] = [];

export interface HeldOptions {
  readonly budget: ByteBudget;
  readonly maxBody: number;
  readonly tally: Tally;
  readonly faults: Faults;
  readonly cors: boolean;
}

export class Holds {
  readonly #o: HeldOptions;
  /** Gives a response's held bytes back when it closes (one listener for every response). */
  readonly #release: (this: Held) => void;

  constructor(o: HeldOptions) {
    this.#o = o;
    const budget = o.budget;
    this.#release = function (this: Held) {
      budget.give(this[HELD] ?? 0);
      this[HELD] = 0;
    };
  }

  /** From now on `res` gives back what it holds when it closes. */
  attach(res: Held): void {
    res[HELD] = 0;
    res.once("close", this.#release);
  }

  /** Hold `n` more bytes for `res`, or answer 503 and close. */
  hold(res: Held, n: number): boolean {
    if (this.#o.budget.take(n)) {
      res[HELD] = (res[HELD] ?? 0) + n;
      return true;
    }
    this.#o.tally.limits.httpBuffer++;
    if (!res.headersSent)
      this.close(res, 503, "this server holds as many HTTP bytes as --http-buffer allows; retry\n");
    else res.destroy();
    return false;
  }

  tooLarge(res: ServerResponse): void {
    this.#o.tally.limits.maxBody++;
    // The body is not read: close the connection rather than read it to keep the connection.
    this.close(res, 413, `request body larger than --max-body (${this.#o.maxBody} bytes)\n`);
  }

  /**
   * Answer `status` with a short text and close (closeWith, with CORS headers). Never throws: an
   * answer that cannot be written is our own fault, counted, and its stream or connection ends.
   */
  close(res: ServerResponse, status: number, text: string): void {
    const err = closeWith(res, status, text, this.cors(res.req));
    if (err !== undefined) this.#o.faults.caught(err, "http");
  }

  /** Our own exception: 500 (or a cut answer) and close; counted. Never throws. */
  fail(res: ServerResponse, err: unknown): void {
    this.#o.faults.caught(err, "http");
    if (res.headersSent) res.destroy();
    else this.close(res, 500, FAILED_TEXT);
  }

  /** CORS headers for an answer to `req`, with --cors on. */
  cors(req: IncomingMessage): readonly string[] {
    return this.#o.cors ? corsHeaders(req) : NONE;
  }
}
