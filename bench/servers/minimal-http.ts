/**
 * The peer echoplex's HTTP echo is measured against: a node:http echo written the obvious way,
 * with nothing echoplex does beyond echoing (no limits, no JSON, no content-type). Two styles:
 * "collect" gathers the body and ends the response with it (node:http adds Content-Length);
 * "pipe" streams the request into the response (chunked). Prints a listening line like
 * echoplex's so the bench starts it the same way; SIGTERM stops it.
 *
 *   node bench/servers/minimal-http.ts --style collect|pipe --port 0
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    style: { type: "string", default: "collect" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

const server =
  values.style === "pipe"
    ? createServer((req, res) => req.pipe(res))
    : createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => res.end(Buffer.concat(chunks)));
      });

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(
    `${JSON.stringify({ msg: "listening", port, http: port, style: values.style })}\n`,
  );
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
