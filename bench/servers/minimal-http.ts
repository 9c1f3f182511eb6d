/**
 * The peer echoplex's HTTP echo is measured against: a node:http echo written the obvious way,
 * with nothing echoplex does beyond echoing (no limits, no JSON, no content-type). Two styles:
 * "collect" gathers the body and ends the response with it (node:http adds Content-Length);
 * "pipe" streams the request into the response (chunked); "h2c" is "collect" on node:http2's
 * compatibility API, HTTP/2 with prior knowledge. Prints a listening line like
 * echoplex's so the bench starts it the same way; SIGTERM stops it.
 *
 *   node bench/servers/minimal-http.ts --style collect|pipe|h2c --port 0
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { createServer as createH2cServer } from "node:http2";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    style: { type: "string", default: "collect" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

/** Gather the body, answer with it. */
function collect(req: Readable, res: { end(body: Buffer): unknown }): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => res.end(Buffer.concat(chunks)));
}

const server =
  values.style === "h2c"
    ? createH2cServer((req, res) => collect(req, res))
    : values.style === "pipe"
      ? createServer((req: IncomingMessage, res: ServerResponse) => req.pipe(res))
      : createServer((req, res) => collect(req, res));

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(
    `${JSON.stringify({ msg: "listening", port, http: port, style: values.style })}\n`,
  );
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  if ("closeAllConnections" in server) server.closeAllConnections();
  else setTimeout(() => process.exit(0), 100).unref(); // h2 sessions hold close() open
});
