/** TLS: --tls-cert/--tls-key put TLS on the TCP echo port and HTTPS/WSS on the HTTP port. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { request } from "node:https";
import { describe, it } from "node:test";
import { connect } from "node:tls";
import { WebSocket } from "ws";
import { MODES } from "../src/main/config/config.ts";
import { HOST } from "./helpers/client.ts";
import { serve } from "./helpers/server.ts";
import { CA, TLS_FLAGS } from "./helpers/tls.ts";

/** Echo `payload` over TLS and resolve with what came back before the server's close. */
function tlsEcho(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, ca: CA, servername: "localhost" }, () => {
      socket.end(payload);
    });
    const got: Buffer[] = [];
    socket.on("data", (d: Buffer) => got.push(d));
    socket.on("end", () => resolve(Buffer.concat(got)));
    socket.on("error", reject);
  });
}

function httpsJson(port: number, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, ca: CA, servername: "localhost" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const mode of MODES) {
  describe(`tls (${mode})`, () => {
    it("serves TCP echo, HTTPS and WSS with the given certificate", async (t) => {
      const s = await serve(t, ["--mode", mode, "--workers", "2", "--http", "0", ...TLS_FLAGS]);
      assert.equal(s.listening.tls, true);
      const payload = randomBytes(200_000);
      assert.deepEqual(await tlsEcho(s.port, payload), payload);

      const http = s.listening.http as number;
      const d = await httpsJson(http, "/secure?x=1");
      assert.equal(d.protocol, "https");
      assert.deepEqual(d.query, { x: "1" });

      const ws = new WebSocket(`wss://localhost:${http}/ws`, { ca: CA });
      await once(ws, "open");
      const reply = once(ws, "message");
      ws.send("over tls");
      assert.equal(String((await reply)[0]), "over tls");
      ws.close();
    });

    // Plaintext on a TLS port: once where the loop accepts itself, once on handed-in sockets.
    if (mode !== "single" && mode !== "handoff") return;
    it("refuses a client that does not speak TLS, and keeps serving", async (t) => {
      const s = await serve(t, ["--mode", mode, "--workers", "2", ...TLS_FLAGS]);
      const { echoThrough } = await import("./helpers/client.ts");
      const plain = await echoThrough(s.port, Buffer.from("GET / HTTP/1.1\r\n\r\n")).catch(() =>
        Buffer.alloc(0),
      );
      assert.ok(!plain.toString().includes("GET /"), "plaintext is not echoed");
      const payload = randomBytes(1000);
      assert.deepEqual(await tlsEcho(s.port, payload), payload);
    });
  });
}
