import { createServer, type Server } from "node:net";
import { echo } from "./echo.ts";

/** A TCP echo server: every connection it accepts goes through the same echo loop. */
export function createEchoServer(): Server {
  return createServer({ allowHalfOpen: true }, echo);
}

/** node:net accepts a raw listening handle in listen(); its types do not say so. */
export function listenOnHandle(server: Server, handle: object): void {
  server.listen(handle as { fd: number });
}
