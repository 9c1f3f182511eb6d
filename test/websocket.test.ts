/** WebSocket echo on the HTTP port at /ws, with the ws client. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { HOST } from "./helpers/client.ts";
import { type RunningServer, serve, sharedServer } from "./helpers/server.ts";

const MAX_MESSAGE = 64 * 1024;

async function connectWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  await once(ws, "open");
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString() }),
    ),
  );
}

describe("websocket echo", () => {
  const shared = sharedServer([
    ...["--mode", "single", "--http", "0", "--max-message", String(MAX_MESSAGE)],
  ]);
  let server: RunningServer;
  let url: string;
  before(() => {
    server = shared.server;
    url = `ws://${HOST}:${server.listening.http}/ws`;
  });

  it("echoes text as text and binary as binary, byte-exact, in order", async () => {
    const ws = await connectWs(url);
    const binary = randomBytes(MAX_MESSAGE);
    const replies = [nextMessage(ws)];
    ws.send("héllo, wörld");
    const first = await replies[0];
    assert.equal(first?.isBinary, false);
    assert.equal(first?.data.toString("utf8"), "héllo, wörld");
    const second = nextMessage(ws);
    ws.send(binary);
    const got = await second;
    assert.equal(got.isBinary, true);
    assert.deepEqual(got.data, binary);
    const many: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      ws.on("message", (d: Buffer) => {
        many.push(d);
        if (many.length === 100) resolve();
      }),
    );
    for (let i = 0; i < 100; i++) ws.send(`m${i}`);
    await all;
    assert.deepEqual(
      many.map((d) => d.toString()),
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    ws.close();
  });

  it("answers a ping with a pong carrying its payload", async () => {
    const ws = await connectWs(url);
    const pong = once(ws, "pong");
    ws.ping("are you there");
    const [payload] = (await pong) as [Buffer];
    assert.equal(payload.toString(), "are you there");
    ws.close();
  });

  it("completes the close handshake with the client's code", async () => {
    const ws = await connectWs(url);
    const done = closed(ws);
    ws.close(4000, "bye");
    assert.deepEqual(await done, { code: 4000, reason: "bye" });
  });

  it("closes with 1009 a message over --max-message", async () => {
    const ws = await connectWs(url);
    const done = closed(ws);
    ws.on("error", () => {});
    ws.send(Buffer.alloc(MAX_MESSAGE + 1));
    assert.equal((await done).code, 1009);
  });

  it("does not compress unless asked to", async () => {
    const ws = await connectWs(url, { perMessageDeflate: true });
    assert.equal(ws.extensions, "", "the client offered permessage-deflate; the server declined");
    ws.close();
  });

  it("compresses with --ws-compression on", async (t) => {
    const s = await serve(t, ["--mode", "single", "--http", "0", "--ws-compression", "on"]);
    const ws = await connectWs(`ws://${HOST}:${s.listening.http}/ws`, { perMessageDeflate: true });
    assert.match(ws.extensions, /permessage-deflate/);
    const reply = nextMessage(ws);
    ws.send("x".repeat(10_000));
    assert.equal((await reply).data.toString(), "x".repeat(10_000));
    ws.close();
  });

  it("refuses upgrades on other paths", async () => {
    const ws = new WebSocket(`ws://${HOST}:${server.listening.http}/elsewhere`);
    const [err] = (await once(ws, "error")) as [Error];
    assert.match(err.message, /404/);
  });
});
