/**
 * WebSocket echo on the HTTP port at /ws (ws): each text or binary message goes back as it came.
 * ws answers pings with pongs, does the close handshake, and closes with 1009 a message over
 * --max-message. Other upgrade paths get 404.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { rearmIdle } from "./connections.ts";
import { tally } from "./tally.ts";
import type { Work } from "./work.ts";

export interface WebSocketEchoOptions {
  readonly maxMessage: number;
  readonly compression: boolean;
  readonly work: Work | null;
}

/** Bytes queued to one client past which we stop reading from it until they are sent. */
const HIGH_WATER = 1024 * 1024;
const TEXT = { binary: false };
const BINARY = { binary: true };

function send(ws: WebSocket, data: RawData, isBinary: boolean): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (ws.bufferedAmount < HIGH_WATER) {
    ws.send(data, isBinary ? BINARY : TEXT);
    return;
  }
  // Backpressure: a client that sends and does not read costs at most HIGH_WATER plus a message.
  ws.pause();
  ws.send(data, isBinary ? BINARY : TEXT, () => ws.resume());
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  tally.messages.websocket++;
  send(this, data, isBinary);
}

function ignore(): void {}
function onWsError(err: Error & { code?: string }): void {
  if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") tally.limits.maxMessage++;
  else tally.errors.websocket++;
}

/** Serve WebSocket echo on `server`'s /ws; returns what closes every client (1001) on drain. */
export function attachWebSocketEcho(server: Server, o: WebSocketEchoOptions): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxMessage,
    perMessageDeflate: o.compression,
  });
  const { work } = o;
  const listener =
    work === null
      ? onMessage
      : function (this: WebSocket, data: RawData, isBinary: boolean): void {
          tally.messages.websocket++;
          const digest = work.digest(data as Buffer);
          if (typeof digest === "string") {
            send(this, data, isBinary);
            return;
          }
          // One message in flight per connection keeps replies in order.
          this.pause();
          digest.then(() => {
            this.resume();
            send(this, data, isBinary);
          }, ignore);
        };
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", ignore);
    if (req.url?.split("?", 1)[0] !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", listener);
      ws.on("error", onWsError);
      rearmIdle(socket as Socket);
    });
  });
  return () => {
    for (const ws of wss.clients) ws.close(1001, "server draining");
  };
}
