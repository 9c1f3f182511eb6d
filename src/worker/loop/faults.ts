/**
 * Our own exceptions while serving one connection, request, WebSocket message or datagram. The
 * protocol code catches them at its boundary (one request handler, one message listener, one
 * datagram listener), closes that one connection (with 500 or 1011 where the protocol has a
 * status) and reports here: counted as errors{kind="internal"} and logged at error with the
 * stack, at most once a second with how many there were. The worker and every other connection
 * carry on.
 */
import type { Logger } from "../../log.ts";
import type { Tally } from "./tally.ts";

const LOG_EVERY_MS = 1_000;

export class Faults {
  readonly #log: Logger;
  readonly #tally: Tally;
  #lastLog = 0;
  #unlogged = 0;

  constructor(log: Logger, tally: Tally) {
    this.#log = log;
    this.#tally = tally;
  }

  /** An exception while serving one `what` (http, websocket, udp, echo): count it, maybe log it. */
  caught(err: unknown, what: string): void {
    this.#tally.errors.internal++;
    this.#unlogged++;
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.#log.error(
      {
        what,
        errors: this.#unlogged,
        err: { message: e.message, code: errorCode(e), stack: e.stack },
      },
      "internal error serving one client; closed that one, serving the rest",
    );
    this.#lastLog = now;
    this.#unlogged = 0;
  }
}

function errorCode(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
