/**
 * PROXY protocol headers (v1 and v2, valid, cut, mutated, or none) in front of generated HTTP
 * requests or echo bytes, for a server with --proxy-protocol on and --cors on: the gate and the
 * CORS answers meet generated input through a real server.
 */
import fc from "fast-check";
import { request } from "./http.ts";
import { mutated } from "./mutate.ts";

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const v1 = fc
  .tuple(
    fc.ipV4(),
    fc.ipV4(),
    fc.integer({ min: 0, max: 65_535 }),
    fc.constantFrom("TCP4", "UNKNOWN"),
  )
  .map(([s, d, p, f]) =>
    Buffer.from(f === "UNKNOWN" ? "PROXY UNKNOWN\r\n" : `PROXY TCP4 ${s} ${d} ${p} 80\r\n`),
  );

const v2 = fc
  .tuple(
    fc.constantFrom(0x20, 0x21),
    fc.constantFrom(0x00, 0x11, 0x21, 0x12),
    fc.uint8Array({ maxLength: 48 }),
  )
  .map(([cmd, fam, addr]) => {
    const head = Buffer.from([cmd, fam, 0, 0]);
    head.writeUInt16BE(addr.length, 2);
    return Buffer.concat([SIG, head, addr]);
  });

const header = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(v1, v2) },
  { weight: 2, arbitrary: mutated(fc.oneof(v1, v2)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
);

const cors = fc.constantFrom(
  "",
  "Origin: https://a.example\r\n",
  "Origin: https://a.example\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-a\r\n",
);

/** A header, then an HTTP request (with CORS headers perhaps), for the HTTP port. */
export const proxiedHttp: fc.Arbitrary<Buffer> = fc
  .tuple(header, fc.constantFrom("GET", "POST", "OPTIONS"), cors, request)
  .map(([h, method, c, req]) =>
    Buffer.concat([
      h,
      Buffer.from(`${method} /?format=json HTTP/1.1\r\nHost: a\r\n${c}Content-Length: 0\r\n\r\n`),
      req,
    ]),
  );

/** A header, then echo bytes, for the TCP echo port. */
export const proxiedEcho: fc.Arbitrary<Buffer> = fc
  .tuple(header, fc.uint8Array({ maxLength: 64 }))
  .map(([h, data]) => Buffer.concat([h, Buffer.from(data)]));
