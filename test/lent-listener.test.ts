/**
 * A worker's spill grant (src/worker/process/lent-listener.ts) on a real listening socket: busy windows
 * go on, a quiet one ends the grant, the ceiling closes the listener at once, and room after a
 * full end is reported.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { type Grant, lentListener } from "../src/worker/process/lent-listener.ts";
import { open } from "./helpers/client.ts";
import { waitFor } from "./helpers/server.ts";

/** The worker's loop, reduced to what a grant reads: the sockets it serves, and room watches. */
class StubLoop {
  readonly served: Socket[] = [];
  readonly #watches: { limit: number; then: () => void }[] = [];
  serve = (socket: Socket): void => {
    this.served.push(socket);
    socket.on("close", () => {
      this.served.splice(this.served.indexOf(socket), 1);
      for (const w of this.#watches.splice(0)) {
        if (this.served.length < w.limit) w.then();
        else this.#watches.push(w);
      }
    });
  };
  open = (): number => this.served.length;
  whenOpenBelow = (limit: number, then: () => void): (() => void) => {
    const watch = { limit, then };
    this.#watches.push(watch);
    return () => this.#watches.splice(this.#watches.indexOf(watch), 1);
  };
  acceptError = (): void => {};
}

/** A listening socket whose raw handle a grant takes over (and closes when it ends). */
async function listening(t: TestContext): Promise<{ handle: object; port: number }> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const handle = (server as unknown as { _handle: object })._handle;
  t.after(() => server.close());
  return { handle, port };
}

function grantOf(over: Partial<Grant>): Grant {
  return { maxOpen: 1_000, ms: 50, rush: 1, backlog: 511, ...over };
}

describe("a worker's spill grant", () => {
  it("goes on after busy windows and ends after a quiet one", async (t) => {
    const { handle, port } = await listening(t);
    const loop = new StubLoop();
    const busy: number[] = [];
    const over: [number, boolean][] = [];
    lentListener(handle, grantOf({ rush: 2 }), loop, {
      busy: (n) => busy.push(n),
      over: (n, full) => over.push([n, full]),
      room: () => assert.fail("not full"),
    });
    const clients: Socket[] = [];
    t.after(() => {
      for (const c of clients) c.destroy();
    });
    // Three connections in each of the first windows, then none.
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < 3; i++) clients.push(await open(port));
      const seen = busy.length;
      await waitFor("the window's report", () => (busy.length > seen ? true : undefined));
    }
    await waitFor("the end of the grant", () => (over.length > 0 ? true : undefined));
    assert.ok(busy.every((n) => n >= 2));
    assert.equal(busy.reduce((a, b) => a + b) + (over[0]?.[0] ?? 0), 9, "every connection counted");
    assert.deepEqual(over, [[0, false]], "a quiet window (0 < 2) ends it, not full");
    assert.equal(loop.served.length, 9);
  });

  it("closes the listener at its ceiling, reports, and says when a quarter of its room is free", async (t) => {
    const { handle, port } = await listening(t);
    const loop = new StubLoop();
    const over: [number, boolean][] = [];
    let room = 0;
    lentListener(handle, grantOf({ maxOpen: 8, ms: 60_000 }), loop, {
      busy: () => {},
      over: (n, full) => over.push([n, full]),
      room: () => room++,
    });
    const clients = await Promise.all(Array.from({ length: 8 }, () => open(port)));
    t.after(() => {
      for (const c of clients) c.destroy();
    });
    await waitFor("8 served", () => (loop.served.length === 8 ? true : undefined));
    await waitFor("the report", () => (over.length > 0 ? true : undefined));
    assert.deepEqual(over, [[8, true]]);
    await assert.rejects(open(port), { code: "ECONNREFUSED" }, "the listener is closed");
    loop.served[0]?.destroy(); // a connection closes: 7 open, a quarter of 8 is 2
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(room, 0, "one free is not yet a quarter");
    loop.served[0]?.destroy();
    await waitFor("room", () => (room > 0 ? true : undefined));
    loop.served[0]?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(room, 1, "said once");
  });

  it("stop() ends a grant with a report, and ends the watch for room", async (t) => {
    const { handle, port } = await listening(t);
    const loop = new StubLoop();
    const over: boolean[] = [];
    const grant = lentListener(handle, grantOf({ maxOpen: 2, ms: 60_000 }), loop, {
      busy: () => {},
      over: (_n, full) => over.push(full),
      room: () => assert.fail("stopped before any room"),
    });
    const clients = [await open(port), await open(port)];
    t.after(() => {
      for (const c of clients) c.destroy();
    });
    await waitFor("the full end", () => (over.length > 0 ? true : undefined));
    grant.stop();
    for (const s of [...loop.served]) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(over, [true]);

    const second = await listening(t);
    const ended: boolean[] = [];
    const idle = lentListener(second.handle, grantOf({ ms: 60_000 }), new StubLoop(), {
      busy: () => {},
      over: (_n, full) => ended.push(full),
      room: () => {},
    });
    idle.stop();
    idle.stop();
    assert.deepEqual(ended, [false], "once");
  });
});
