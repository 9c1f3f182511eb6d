/**
 * Accept errors on a worker's own listeners (listen modes, spill grants). Out of descriptors
 * (EMFILE, ENFILE), libuv itself accepts and closes the waiting connections with a descriptor it
 * keeps in reserve, so such errors reach us only if even that failed. Either way an accept error
 * must not end the worker (net.Server throws an 'error' without a listener): it is counted and
 * logged at most once a second, with how many there were.
 */
import type { Server } from "node:net";
import type { Logger } from "../../log.ts";
import type { Tally } from "./tally.ts";

const LOG_EVERY_MS = 1_000;

export function survivesAcceptErrors(server: Server, log: Logger, tally: Tally): void {
  let lastLog = 0;
  let unlogged = 0;
  server.on("error", (err: NodeJS.ErrnoException) => {
    tally.errors.accept++;
    unlogged++;
    const now = Date.now();
    if (now - lastLog < LOG_EVERY_MS) return;
    log.warn({ code: err.code, errors: unlogged }, "accept failed; still listening");
    lastLog = now;
    unlogged = 0;
  });
}
