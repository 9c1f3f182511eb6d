/**
 * A worker's spill grant (src/worker/lent-listener.ts) on a real listening socket: busy windows
 * go on, a quiet one ends the grant, the ceiling closes the listener at once and the report
 * waits for room.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { type Grant, lentListener } from "../src/worker/lent-listener.ts";
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
  return { maxOpen: 1_000, ms: 50, rush: 1, fullWaitMs: 60_000, backlog: 511, ...over };
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

  it("closes the listener at its ceiling and reports once there is room again", async (t) => {
    const { handle, port } = await listening(t);
    const loop = new StubLoop();
    const over: [number, boolean][] = [];
    lentListener(handle, grantOf({ maxOpen: 4, ms: 60_000 }), loop, {
      busy: () => {},
      over: (n, full) => over.push([n, full]),
    });
    const clients = await Promise.all([1, 2, 3, 4].map(() => open(port)));
    t.after(() => {
      for (const c of clients) c.destroy();
    });
    await waitFor("4 served", () => (loop.served.length === 4 ? true : undefined));
    await assert.rejects(open(port), { code: "ECONNREFUSED" }, "the listener is closed");
    assert.deepEqual(over, [], "no room yet (a quarter of 4 must be free)");
    loop.served[0]?.destroy(); // a connection closes
    await waitFor("the report", () => (over.length > 0 ? true : undefined));
    assert.deepEqual(over, [[4, true]]);
  });

  it("reports a ceiling without room after a short wait, and stop() reports at once", async (t) => {
    const { handle, port } = await listening(t);
    const loop = new StubLoop();
    const over: number[] = [];
    lentListener(handle, grantOf({ maxOpen: 2, ms: 60_000, fullWaitMs: 20 }), loop, {
      busy: () => {},
      over: () => over.push(performance.now()),
    });
    const clients = [await open(port), await open(port)];
    t.after(() => {
      for (const c of clients) c.destroy();
    });
    await waitFor("2 served", () => (loop.served.length === 2 ? true : undefined));
    const full = performance.now();
    await waitFor("the report", () => (over.length > 0 ? true : undefined));
    assert.ok((over[0] as number) - full >= 18, "it waited for room first");

    const second = await listening(t);
    const ended: boolean[] = [];
    const grant = lentListener(second.handle, grantOf({ ms: 60_000 }), new StubLoop(), {
      busy: () => {},
      over: (_n, full) => ended.push(full),
    });
    grant.stop();
    assert.deepEqual(ended, [false]);
    grant.stop();
    assert.deepEqual(ended, [false], "once");
  });
});
