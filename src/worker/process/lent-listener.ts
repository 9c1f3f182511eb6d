/**
 * Direct accept ("spill"): while the primary's handoff queue is backed up, it lends every worker
 * a duplicate of a listening socket (TCP echo or HTTP); `serve` gets each connection. The worker
 * accepts from it in windows: after each busy one it says so and goes on; after a quiet one, or
 * once it holds `maxOpen` connections, it closes its duplicate (the socket stays open in the
 * primary's spare copy) and reports. The ceiling bounds how far one worker can get ahead of the
 * others, so balance survives bursts of long-lived connections.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface Grant {
  /** Most connections open at once; at this count the grant ends. */
  readonly maxOpen: number;
  /** Window length. */
  readonly ms: number;
  /** Connections a window must take for the grant to go on. */
  readonly rush: number;
  readonly backlog: number;
}

export interface LentListener {
  /** Stop accepting now (drain, or a new grant), and stop watching for room. */
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

/** What the grant tells its owner: a busy window (it goes on), its end, room after a full end. */
export interface Reports {
  busy(accepted: number): void;
  over(accepted: number, full: boolean): void;
  room(): void;
}

export function lentListener(
  handle: object,
  grant: Grant,
  loop: Loop,
  reports: Reports,
): LentListener {
  const { maxOpen, ms, rush, backlog } = grant;
  const server: Server = createServer({ allowHalfOpen: true }, (s) => loop.serve(s));
  // After a full end: a quarter of the grant's room free again is worth telling the primary,
  // which lends the listener again with the same ceiling (its own view of the loads is up to
  // 100 ms old, and under churn the open count swings by whole accept batches).
  const freeAgain = Math.max(1, Math.ceil((maxOpen - loop.open()) / 4));
  let accepted = 0;
  let accepting = true;
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
  const timer = setTimeout(windowEnd, ms);
  const finish = (full: boolean): void => {
    if (!accepting) return;
    accepting = false;
    // Closing the listener here stops libuv's accept loop at once, so the ceiling is exact.
    server.close();
    clearTimeout(timer);
    reports.over(accepted, full);
    if (full) unwatch = loop.whenOpenBelow(maxOpen - freeAgain + 1, () => reports.room());
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
      finish(false);
      unwatch();
    },
  };
}
