/**
 * Direct accept ("spill"): while the primary's handoff queue is backed up, it lends a worker a
 * duplicate of the listening socket. The worker accepts from it until its quota or time runs out,
 * then closes its duplicate (the socket stays open in the primary) and reports how many it took.
 * The quota bounds how far one worker can get ahead of the others, so balance survives bursts.
 */
import type { Server } from "node:net";
import { createEchoServer, listenOnHandle } from "./server.ts";

export interface Spill {
  /** Stop accepting now (drain); `done` still runs. */
  stop(): void;
}

export function spill(
  handle: object,
  quota: number,
  ms: number,
  done: (accepted: number) => void,
): Spill {
  const server: Server = createEchoServer();
  let accepted = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    // Closing the listener here stops libuv's accept loop at once, so the quota is exact.
    server.close();
    done(accepted);
  };
  const timer = setTimeout(finish, ms);
  server.on("connection", () => {
    if (++accepted >= quota) finish();
  });
  server.on("error", finish);
  listenOnHandle(server, handle);
  return { stop: finish };
}
