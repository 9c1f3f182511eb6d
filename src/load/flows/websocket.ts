/**
 * The load client's WebSocket: an upgrade request, then binary frames built once per pattern
 * message. A client must mask its frames (RFC 6455 §5.3); with the mask key 0 the masked
 * payload is the payload itself, so every frame is sent as prepared, with no masking per
 * message, and the server's work (unmasking included) is exactly what any client costs it.
 * The echo of a frame is the server's unmasked frame: a 2 to 10-byte header and the payload.
 */
import { randomBytes } from "node:crypto";

const FIN_BINARY = 0x82;
const MASKED = 0x80;

/** The length field of a frame header: 7 bits, or 126 + 16 bits, or 127 + 64 bits. */
function header(size: number, mask: boolean): Buffer {
  const ext = size < 126 ? 0 : size < 65_536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + (mask ? 4 : 0)); // the mask key stays 0
  h[0] = FIN_BINARY;
  h[1] = (mask ? MASKED : 0) | (ext === 0 ? size : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(size, 2);
  else if (ext === 8) h.writeBigUInt64BE(BigInt(size), 2);
  return h;
}

/** What the client sends for `payload`: one whole masked binary frame. */
export function clientFrame(payload: Buffer): Buffer {
  return Buffer.concat([header(payload.length, true), payload]);
}

/** The header the server puts before a `size`-byte binary message it echoes. */
export function serverHeader(size: number): Buffer {
  return header(size, false);
}

/** The opening handshake's request (its key is not checked: the 101 is what counts). */
export function upgradeRequest(host: string, port: number, path = "/ws"): Buffer {
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

const STATUS = Buffer.from("HTTP/1.1 101 ");
const END = [13, 10, 13, 10];

/**
 * Reads the server's answer to the upgrade, which may come in pieces and may be followed in the
 * same read by the first echoed frames: where the frames begin, or that more is needed, or that
 * the answer was not a 101.
 */
export class UpgradeReader {
  /** Bytes of the status line matched so far, then of the head's final CRLF CRLF. */
  private status = 0;
  private end = 0;

  /** Returns the offset in `chunk` where frames begin, -1 while the head goes on, -2 if refused. */
  read(chunk: Buffer, start: number, stop: number): number {
    for (let i = start; i < stop; i++) {
      const c = chunk[i] as number;
      if (this.status < STATUS.length) {
        if (c !== STATUS[this.status]) return -2;
        this.status++;
        continue;
      }
      this.end = c === END[this.end] ? this.end + 1 : c === 13 ? 1 : 0;
      if (this.end === END.length) return i + 1;
    }
    return -1;
  }
}
