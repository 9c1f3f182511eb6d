/**
 * handoff's use of Node internals (src/main/handoff/internals.ts): present in this Node, and
 * where one is missing the primary stops with one line and ECHOPLEX_UNSUPPORTED_NODE.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:net";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { CLI } from "../bench/lib/server.ts";
import { checkChannel, rawHandle } from "../src/main/handoff/internals.ts";

const OLD_CHILD_PROCESS = fileURLToPath(
  new URL("./fixtures/old-child-process.mjs", import.meta.url),
);

it("this Node has what handoff uses: a listening server's raw handle", async (t) => {
  const server = createServer().listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  assert.equal(typeof rawHandle(server).onconnection, "function");
});

it("a server without the raw handle, or a child without the handle queue, is refused by code", () => {
  const bare = { _handle: { listen() {}, close() {} } } as unknown as Server;
  assert.throws(() => rawHandle(bare), { code: "ECHOPLEX_UNSUPPORTED_NODE" });
  assert.throws(() => rawHandle({} as Server), { code: "ECHOPLEX_UNSUPPORTED_NODE" });
  const child = new EventEmitter() as unknown as ChildProcess;
  assert.throws(() => checkChannel(child), /NODE_HANDLE_ACK/);
});

it("on a Node without handle acknowledgements, handoff stops at start with one line", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", OLD_CHILD_PROCESS, CLI, "--port", "0", "--admin", "off", "--mode", "handoff"],
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /\[ECHOPLEX_UNSUPPORTED_NODE\]$/);
  assert.match(lines[0] as string, /Node 24 and later/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
