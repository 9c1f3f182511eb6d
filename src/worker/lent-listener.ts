/**
 * Direct accept ("spill"): while the primary's handoff queue is backed up, it lends a worker a
 * duplicate of a listening socket (TCP echo or HTTP); `serve` gets each connection. The worker
 * accepts from it until its time runs out or it holds `maxOpen` connections, then closes its
 * duplicate (the socket stays open in the primary's spare copy) and reports how many it took.
 * The ceiling bounds how far one worker can get ahead of the others, so balance survives bursts
 * of long-lived connections.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface LentListener {
  /** Stop accepting now (drain); `done` still runs. */
  stop(): void;
}

/** The worker's loop, as a lent listener uses it. */
export interface Loop {
  /** Serve a connection accepted here. */
  serve(socket: Socket): void;
  /** Connections the loop holds open now. */
  open(): number;
  /** Count an accept error. */
  acceptError(): void;
}

export function lentListener(
  handle: object,
  grant: { readonly maxOpen: number; readonly ms: number; readonly backlog: number },
  loop: Loop,
  done: (accepted: number, full: boolean) => void,
): LentListener {
  const { maxOpen, ms, backlog } = grant;
  const server: Server = createServer({ allowHalfOpen: true }, (s) => loop.serve(s));
  let accepted = 0;
  let finished = false;
  const finish = (full: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    // Closing the listener here stops libuv's accept loop at once, so the ceiling is exact.
    server.close();
    done(accepted, full);
  };
  const timer = setTimeout(finish, ms, false);
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
  return { stop: () => finish(false) };
}
