/**
 * WebSocket echo on the HTTP port at /ws (ws): each text or binary message goes back as it came,
 * in the order it came (also with --offload, where digests finish in any order). ws answers
 * pings with pongs, does the close handshake, and closes with 1009 a message over --max-message.
 * Other upgrade paths get 404. Our own exception while echoing a message closes that connection
 * with 1011 (counted as internal); the other connections carry on.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { afterOwed } from "../http/owed.ts";
import type { AccessLog } from "../loop/access-log.ts";
import type { Connections } from "../loop/connections.ts";
import type { Faults } from "../loop/faults.ts";
import { ignore } from "../loop/ignore.ts";
import type { Tally } from "../loop/tally.ts";
import type { Work } from "../work/work.ts";
import { HIGH_WATER, takeFrames } from "./fast.ts";
import type { WsFaults } from "./faulty.ts";

export interface WebSocketEchoOptions {
  readonly maxMessage: number;
  readonly compression: boolean;
  /** Echo whole data frames without ws (fast.ts); not with compression or work. */
  readonly fastPath: boolean;
  readonly work: Work | null;
  readonly faults: Faults;
  readonly tally: Tally;
  /** --ws-faults (faulty.ts), or null; the fast path is off with them. */
  readonly injected: WsFaults | null;
  /** --access-log, or null: a line per connection as it closes. */
  readonly access: AccessLog | null;
  /** The loop's connections: ws turns a socket's idle timer off, rearmIdle() turns it back on. */
  readonly connections: Connections;
}

const TEXT = { binary: false };
const BINARY = { binary: true };

/** The echo of one message, with backpressure. */
export function send(ws: WebSocket, data: RawData, isBinary: boolean): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (ws.bufferedAmount < HIGH_WATER) {
    ws.send(data, isBinary ? BINARY : TEXT);
    return;
  }
  // Backpressure: a client that sends and does not read costs at most HIGH_WATER plus a message.
  ws.pause();
  ws.send(data, isBinary ? BINARY : TEXT, () => ws.resume());
}

/** Offloaded echo: replies wait for the digests before them (a chain per connection). */
const TAIL = Symbol("echoplex.tail");
const PENDING = Symbol("echoplex.pending");
interface Ordered extends WebSocket {
  [TAIL]?: Promise<void>;
  [PENDING]?: number;
}
const SETTLED = Promise.resolve();

function wsErrorCounter(tally: Tally): (err: Error & { code?: string }) => void {
  return (err) => {
    if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") tally.limits.maxMessage++;
    else tally.errors.websocket++;
  };
}

/** Serve WebSocket echo on `server`'s /ws; returns what closes every client (1001) on drain. */
export function attachWebSocketEcho(server: Server, o: WebSocketEchoOptions): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxMessage,
    perMessageDeflate: o.compression,
  });
  const { work, faults, tally, connections, injected } = o;
  const fast =
    o.fastPath && !o.compression && work === null && injected === null
      ? { maxMessage: o.maxMessage, faults, tally }
      : null;
  const onWsError = wsErrorCounter(tally);
  const fail = (ws: WebSocket, err: unknown): void => {
    faults.caught(err, "websocket");
    ws.close(1011, "internal error");
  };
  /**
   * Reading pauses while digests are out, but ws has parsed every message of the chunk it read
   * already: each reply is chained behind the one before it, so replies keep their order.
   */
  const later = (ws: Ordered, data: RawData, isBinary: boolean, digest: Promise<string>): void => {
    ws.pause();
    ws[PENDING] = (ws[PENDING] ?? 0) + 1;
    const reply = (): void => {
      ws[PENDING] = (ws[PENDING] ?? 1) - 1;
      if (ws[PENDING] === 0 && ws.bufferedAmount < HIGH_WATER) ws.resume();
      send(ws, data, isBinary);
    };
    ws[TAIL] = (ws[TAIL] ?? SETTLED).then(() =>
      digest.then(reply).catch((err: unknown) => fail(ws, err)),
    );
  };
  const listener = function (this: WebSocket, data: RawData, isBinary: boolean): void {
    tally.messages.websocket++;
    try {
      const digest = work?.digest(data as Buffer);
      if (typeof digest === "object") later(this, data, isBinary, digest);
      else if (injected !== null) injected.message(this, data, isBinary);
      else send(this, data, isBinary);
    } catch (err) {
      fail(this, err);
    }
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", ignore);
    if (req.url?.split("?", 1)[0] !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", listener);
      ws.on("error", onWsError);
      connections.rearmIdle(socket as Socket);
      o.access?.websocket(ws, req, socket as Socket);
      if (fast !== null) takeFrames(ws, socket as Socket, fast);
    });
  };
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Answers owed to requests pipelined before this one go out first (owed.ts).
    afterOwed(socket, () => {
      try {
        upgrade(req, socket, head);
      } catch (err) {
        faults.caught(err, "websocket");
        socket.destroy();
      }
    });
  });
  return () => {
    for (const ws of wss.clients) ws.close(1001, "server draining");
  };
}
