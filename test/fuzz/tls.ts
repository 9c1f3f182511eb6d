/**
 * TLS ClientHellos: a real one (captured from node:tls at load), truncated at every length and
 * mutated, and plain garbage.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import { connect } from "node:tls";
import fc from "fast-check";
import { mutated } from "./mutate.ts";

/** The first flight of a node:tls client: a ClientHello record. */
async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once("connection", (s) =>
      s.once("data", (d: Buffer) => {
        resolve(d);
        s.destroy();
      }),
    ),
  );
  const client = connect({
    host: "127.0.0.1",
    port,
    servername: "localhost",
    rejectUnauthorized: false,
  });
  client.on("error", () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

export const CLIENT_HELLO = await captureClientHello();

export const tlsStream: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer({ min: 0, max: CLIENT_HELLO.length - 1 }).map((n) => CLIENT_HELLO.subarray(0, n)),
  mutated(fc.constant(CLIENT_HELLO)),
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  // A TLS record header announcing a handshake, then garbage.
  fc
    .uint8Array({ maxLength: 300 })
    .map((b) => Buffer.concat([Buffer.from([22, 3, 1, 0x40, 0x00]), b])),
);
