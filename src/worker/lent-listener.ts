/**
 * Direct accept ("spill"): while the primary's handoff queue is backed up, it lends every worker
 * a duplicate of a listening socket (TCP echo or HTTP); `serve` gets each connection. The worker
 * accepts from it in windows: after each busy one it says so and goes on; after a quiet one, or
 * once it holds `maxOpen` connections, it closes its duplicate (the socket stays open in the
 * primary's spare copy) and reports. The ceiling bounds how far one worker can get ahead of the
 * others, so balance survives bursts of long-lived connections.
 */
import { createServer, type Server, type Socket } from "node:net";

/**
 * How long a worker at its ceiling may wait for room before it reports (so that the primary can
 * raise the ceilings of workers whose connections stay open).
 */
export const FULL_REPORT_MS = 20;

export interface Grant {
  /** Most connections open at once; at this count the grant ends. */
  readonly maxOpen: number;
  /** Window length. */
  readonly ms: number;
  /** Connections a window must take for the grant to go on. */
  readonly rush: number;
  /** At the ceiling, how long to wait for room before reporting (FULL_REPORT_MS). */
  readonly fullWaitMs: number;
  readonly backlog: number;
}

export interface LentListener {
  /** Stop accepting now (drain); `over` still runs, at once. */
  stop(): void;
}

/** The worker's loop, as a lent listener uses it. */
export interface Loop {
  /** Serve a connection accepted here. */
  serve(socket: Socket): void;
  /** Connections the loop holds open now. */
  open(): number;
  /** Call `then` once fewer than `limit` connections are open; returns a cancel. */
  whenOpenBelow(limit: number, then: () => void): () => void;
  /** Count an accept error. */
  acceptError(): void;
}

/** What the grant tells its owner: a busy window (it goes on), and its end. */
export interface Reports {
  busy(accepted: number): void;
  over(accepted: number, full: boolean): void;
}

export function lentListener(
  handle: object,
  grant: Grant,
  loop: Loop,
  reports: Reports,
): LentListener {
  const { maxOpen, ms, rush, fullWaitMs, backlog } = grant;
  const server: Server = createServer({ allowHalfOpen: true }, (s) => loop.serve(s));
  // At the ceiling, the report waits until a quarter of the grant's room is free again: with
  // short connections that is soon, and the primary, which lends the listener again on that
  // report, keeps this worker's ceiling (its own view of the loads is up to 100 ms old).
  const freeAgain = Math.max(1, Math.ceil((maxOpen - loop.open()) / 4));
  let accepted = 0;
  let state: "accepting" | "full" | "over" = "accepting";
  let unwatch = (): void => {};
  const windowEnd = (): void => {
    if (accepted < rush) {
      finish(false);
      return;
    }
    reports.busy(accepted);
    accepted = 0;
    timer.refresh();
  };
  let timer = setTimeout(windowEnd, ms);
  const report = (): void => {
    if (state === "over") return;
    state = "over";
    clearTimeout(timer);
    unwatch();
    reports.over(accepted, true);
  };
  const finish = (full: boolean): void => {
    if (state !== "accepting") return;
    // Closing the listener here stops libuv's accept loop at once, so the ceiling is exact.
    server.close();
    clearTimeout(timer);
    if (!full) {
      state = "over";
      reports.over(accepted, false);
      return;
    }
    state = "full";
    timer = setTimeout(report, fullWaitMs);
    unwatch = loop.whenOpenBelow(maxOpen - freeAgain + 1, report);
  };
  server.on("connection", () => {
    accepted++;
    if (loop.open() >= maxOpen) finish(true);
  });
  server.on("error", () => {
    loop.acceptError();
    finish(false);
  });
  // node:net accepts a raw listening handle in listen(); its types do not say so. It calls
  // listen(2) on the socket again, which sets the backlog of the socket every process shares:
  // without `backlog` it would be Node's 511.
  (server.listen as (handle: object, backlog: number) => void)(handle, backlog);
  return {
    stop: () => {
      if (state === "full") report();
      else finish(false);
    },
  };
}
