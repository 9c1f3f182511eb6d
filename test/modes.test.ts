/**
 * The same echo suite against every mode: whatever distributes the connections, every byte comes
 * back in order, unchanged, for any payload size, with many clients, under backpressure, and
 * across a half-close; and HTTP, WebSocket and UDP echo go through the same workers.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { LINES } from "../src/log.ts";
import { MODES } from "../src/main/config/config.ts";
import { assertEchoed, echoThrough, HOST, open, random } from "./helpers/client.ts";
import { once as requestOnce } from "./helpers/http.ts";
import { serve } from "./helpers/server.ts";
import { CASES, RECORDED, summarize } from "./httpbin/cases.ts";
import { askHttp1 } from "./httpbin/client.ts";

/** Every mode, and handoff once more without spill (so the pure handoff path runs the suite). */
const VARIANTS = [
  ...MODES.map((mode) => ({ name: mode, mode, args: ["--mode", mode] })),
  { name: "handoff --spill off", mode: "handoff", args: ["--mode", "handoff", "--spill", "off"] },
];

for (const { name, mode, args } of VARIANTS) {
  describe(`mode ${name}`, () => {
    let port = 0;
    it("starts and prints one listening line with the bound port", async (t) => {
      const server = await serve(t, [...args, "--workers", "2"]);
      port = server.port;
      assert.ok(port > 0);
      const listening = server.lines.filter((l) => l.msg === LINES.listening);
      assert.equal(listening.length, 1);
      assert.deepEqual(
        { mode: listening[0]?.mode, workers: listening[0]?.workers, host: listening[0]?.host },
        { mode, workers: mode === "single" ? 1 : 2, host: HOST },
      );
      assert.equal("http" in (listening[0] ?? {}), false, "no http port when HTTP is off");
      assert.equal("udp" in (listening[0] ?? {}), false, "no udp port when UDP is off");

      await t.test("echoes random payloads from 1 byte to 8 MiB byte-exact", async () => {
        for (const size of [1, 2, 3, 100, 1460, 65_535, 65_537, 1_000_003, 8 * 1024 * 1024]) {
          const payload = random(size);
          assertEchoed(payload, await echoThrough(port, payload, 1 + (size % 70_001)));
        }
      });

      await t.test("serves 200 concurrent connections", async () => {
        const payloads = Array.from({ length: 200 }, (_, i) => random(1 + i * 97));
        const echoed = await Promise.all(payloads.map((p) => echoThrough(port, p)));
        for (const [i, p] of payloads.entries()) assertEchoed(p, echoed[i] as Buffer);
      });

      await t.test("echoes 64 MiB written while reading concurrently", async () => {
        const payload = random(64 * 1024 * 1024);
        assertEchoed(payload, await echoThrough(port, payload, 256 * 1024, 120_000));
      });

      await t.test(
        "half-close: echoes what was sent before the client's FIN, then ends",
        async () => {
          const socket = await open(port);
          const payload = random(300_000);
          const received: Buffer[] = [];
          socket.on("data", (d: Buffer) => received.push(d));
          const ended = new Promise<void>((resolve) => socket.once("end", resolve));
          socket.end(payload);
          await ended;
          assertEchoed(payload, Buffer.concat(received));
          socket.destroy();
        },
      );
    });

    it("serves HTTP, WebSocket and UDP echo through its workers, and counts them", async (t) => {
      const server = await serve(t, [
        ...args,
        ...["--workers", "2", "--http", "0", "--udp", "0", "--log-level", "info"],
      ]);
      const http = server.listening.http as number;
      const udp = server.listening.udp as number;
      assert.ok(http > 0 && udp > 0 && http !== server.port);
      // Separate connections (no keep-alive), so connection-level modes spread them.
      const workers = new Set<unknown>();
      for (let i = 0; i < 12; i++) {
        const body = random(1 + i * 50);
        assertEchoed(body, (await requestOnce(http, { method: "POST", body })).body);
      }
      for (let i = 0; i < 12; i++) {
        const described = JSON.parse(String((await requestOnce(http)).body)) as { worker: number };
        workers.add(described.worker);
      }
      if (mode === "handoff" || mode === "cluster") {
        assert.equal(workers.size, 2, "the primary spreads HTTP connections over both workers");
      }
      const ws = new WebSocket(`ws://${HOST}:${http}/ws`);
      await once(ws, "open");
      const reply = once(ws, "message");
      ws.send(Buffer.from("ws through the workers"));
      assert.equal(String((await reply)[0]), "ws through the workers");
      ws.close();
      await once(ws, "close");

      // httpbin's endpoints answer as the recording of python3-httpbin does (test/httpbin/).
      for (const c of CASES)
        assert.deepEqual(
          summarize(c, await askHttp1(http, c), `${HOST}:${http}`),
          RECORDED[c.name],
          c.name,
        );

      const dgram = createSocket("udp4");
      const answer = once(dgram, "message");
      dgram.send("udp", udp, HOST);
      assert.equal(String((await answer)[0]), "udp");
      dgram.close();

      await server.stop("SIGTERM");
      await server.closed;
      const stopped = server.lines.filter((l) => l.msg === LINES.workerStopped);
      // 24 HTTP requests on their own connections, the WebSocket's, and one per httpbin case.
      assert.equal(
        stopped.reduce((sum, l) => sum + (l.served as number), 0),
        25 + CASES.length,
      );
      assert.equal(
        stopped.reduce((sum, l) => sum + (l.udp as { answered: number }).answered, 0),
        1,
      );
    });

    it("reports how many connections each worker served when it stops", async (t) => {
      const server = await serve(t, [...args, "--workers", "2", "--log-level", "info"]);
      for (let i = 0; i < 40; i++) {
        const payload = random(10);
        assertEchoed(payload, await echoThrough(server.port, payload));
      }
      await server.stop("SIGTERM");
      await server.closed;
      const stopped = server.lines.filter((l) => l.msg === LINES.workerStopped);
      assert.equal(stopped.length, mode === "single" ? 1 : 2);
      assert.equal(
        stopped.reduce((sum, l) => sum + (l.served as number), 0),
        40,
      );
    });
  });
}
