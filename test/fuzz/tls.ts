/**
 * TLS ClientHellos: real ones (captured from node:tls at load, without and with ALPN offering h2
 * and http/1.1), truncated at every length and mutated, and plain garbage.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import { connect } from "node:tls";
import fc from "fast-check";
import { mutated } from "./mutate.ts";

/** The first flight of a node:tls client: a ClientHello record. */
async function captureClientHello(alpn?: string[]): Promise<Buffer> {
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
    ...(alpn === undefined ? {} : { ALPNProtocols: alpn }),
  });
  client.on("error", () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

export const CLIENT_HELLO = await captureClientHello();
/** The same with ALPN's protocol list, which a server with --http2 on chooses from. */
const ALPN_HELLO = await captureClientHello(["h2", "http/1.1"]);
const hello = fc.constantFrom(CLIENT_HELLO, ALPN_HELLO);

export const tlsStream: fc.Arbitrary<Buffer> = fc.oneof(
  hello.chain((h) => fc.integer({ min: 0, max: h.length - 1 }).map((n) => h.subarray(0, n))),
  mutated(hello),
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  // A TLS record header announcing a handshake, then garbage.
  fc
    .uint8Array({ maxLength: 300 })
    .map((b) => Buffer.concat([Buffer.from([22, 3, 1, 0x40, 0x00]), b])),
);
