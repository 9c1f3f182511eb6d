/**
 * --proxy-protocol on: every TCP echo and HTTP connection must start with a PROXY protocol header
 * (proxy-protocol.ts), from a peer --proxy-trusted names (proxy-trust.ts): anyone else could
 * claim any client, so its connection is closed and counted at once. A connection is admitted
 * (counted against --max-connections) from accept, before its header. The gate reads it, at most 107 bytes (v1) or 16 + 4,096 (v2), within
 * --handshake-timeout; notes the client it names on the socket (clientOf), and passes the socket
 * on to its service with the bytes after the header put back in front of the stream: the header
 * is never echoed, and the service sees the connection as if it had just been accepted. A
 * connection without a valid header is closed and counted (errors{kind="proxy"}).
 */
import type { Socket } from "node:net";
import type { Trust } from "../../proxy-trust.ts";
import type { Tally } from "../loop/tally.ts";
import { parseProxy } from "./proxy-protocol.ts";

const CLIENT = Symbol("echoplex.proxyClient");
interface Proxied extends Socket {
  [CLIENT]?: { readonly address: string; readonly port: number } | null;
}

/**
 * The original client named by the connection's PROXY header: undefined without one (PROXY
 * protocol off), null when the header named none (v1 UNKNOWN, v2 LOCAL or not TCP).
 */
export function clientOf(socket: Socket) {
  // Over TLS the request's socket is the TLS socket; the header was read on the one under it
  // (node:tls keeps it as `_parent`).
  const raw = CLIENT in socket ? socket : (socket as { _parent?: Socket | null })._parent;
  return raw ? (raw as Proxied)[CLIENT] : undefined; // a plain socket's _parent is null
}

export function proxyGate(o: {
  readonly timeoutMs: number;
  readonly tally: Tally;
  /**
   * TLS: node:tls reads the socket's own buffer (the start of the ClientHello) before its handle,
   * as long as nothing else does: the socket is left paused for it. Else it is resumed.
   */
  readonly tls: boolean;
  /** Is a peer one whose headers are believed (--proxy-trusted)? */
  readonly trusted: Trust;
  /** Count the connection against the loop's cap (false: refused, closed already). */
  readonly admit: (socket: Socket) => boolean;
}) {
  return (socket: Socket, next: (socket: Socket) => void): void => {
    if (!o.admit(socket)) return;
    if (!o.trusted(socket.remoteAddress)) {
      o.tally.errors.proxy++;
      socket.destroy();
      return;
    }
    let got: Buffer | null = null;
    const fail = (): void => {
      done();
      o.tally.errors.proxy++;
      socket.destroy();
    };
    const timer = setTimeout(fail, o.timeoutMs);
    const onData = (chunk: Buffer): void => {
      got = got === null ? chunk : Buffer.concat([got, chunk]);
      const header = parseProxy(got);
      if (header === "more") return;
      if ("invalid" in header) {
        fail();
        return;
      }
      done();
      socket.pause();
      (socket as Proxied)[CLIENT] = header.source;
      if (got.length > header.length) socket.unshift(got.subarray(header.length));
      next(socket);
      if (!o.tls && socket.isPaused()) socket.resume();
    };
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", fail);
      socket.removeListener("error", fail);
    };
    socket.on("data", onData);
    socket.on("end", fail);
    socket.on("error", fail);
  };
}
