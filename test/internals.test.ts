/**
 * handoff's use of Node internals (src/main/handoff/internals.ts): present in this Node, and
 * where one is missing the primary stops with one line and ECHOPLEX_UNSUPPORTED_NODE. And the
 * HTTP fast path's reads into a reused buffer (src/worker/loop/user-reads.ts): present in this
 * Node (where they are not, the fast path reads 'data' events, correct but slower).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { connect, createServer, type Server, Socket } from "node:net";
import { it } from "node:test";
import { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { CLI } from "../bench/lib/server.ts";
import { checkChannel, rawHandle } from "../src/main/handoff/internals.ts";
import { pushCopy, userReads } from "../src/worker/loop/user-reads.ts";

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

it("this Node lets an accepted socket read into a reused buffer, and hand its reads on as 'data'", async (t) => {
  const buffer = Buffer.alloc(64);
  const reads: string[] = [];
  const data: string[] = [];
  let firstRead = (): void => {};
  const read = new Promise<void>((resolve) => {
    firstRead = resolve;
  });
  const server = createServer((socket) => {
    const onRead = (n: number, b: Buffer): boolean => {
      if (reads.length === 0) {
        reads.push(b.toString("latin1", 0, n));
        firstRead();
        return true;
      }
      return pushCopy(socket, n, b);
    };
    assert.equal(userReads(socket, buffer, onRead), true);
    assert.equal(userReads(socket, buffer, onRead), false, "on already");
    socket.on("data", (chunk: Buffer) => {
      data.push(chunk.toString("latin1"));
      socket.end();
    });
  }).listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  client.resume();
  client.write("first");
  await read;
  client.write("second");
  await new Promise((resolve) => client.once("close", resolve));
  assert.deepEqual(reads, ["first"]);
  assert.deepEqual(data, ["second"]);
  assert.equal(
    userReads(new Socket(), buffer, () => true),
    false,
    "no handle: 'data' it is",
  );
  const tls = new TLSSocket(new Socket());
  assert.equal(
    userReads(tls, buffer, () => true),
    false,
    "TLS is not tried",
  );
  tls.destroy();
});
