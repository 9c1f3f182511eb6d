/**
 * What handoff relies on when a worker is out of descriptors, checked against this Node with
 * real processes: a raw handle (as handoff sends them) that the receiver cannot take is answered
 * with one NODE_HANDLE_NACK; child_process neither retransmits nor closes it, so the primary
 * still holds it, open, and can send it again (src/main/handoff/channel.ts).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { sleep, waitFor } from "./helpers/server.ts";

const FILLER = fileURLToPath(new URL("./fixtures/fd-filler.ts", import.meta.url));

it("a raw handle the worker cannot take: one NACK, still open here, delivered when sent again", async (t) => {
  const child: ChildProcess = spawn(
    "sh",
    ["-c", 'ulimit -n 64 && exec "$0" "$1"', process.execPath, FILLER],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  t.after(() => child.kill("SIGKILL"));
  const messages: { t: string; handle?: boolean; code?: string }[] = [];
  const internal: string[] = [];
  child.on("message", (m: { t: string }) => messages.push(m));
  child.on("internalMessage", (m: { cmd?: string }) => {
    if (m.cmd?.startsWith("NODE_HANDLE_")) internal.push(m.cmd);
  });
  await waitFor("the child", () => messages.find((m) => m.t === "up"));

  const server = createServer({ pauseOnConnect: true }).listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  const [socket] = (await once(server, "connection")) as [Socket];
  t.after(() => {
    client.destroy();
    server.close();
  });
  const handle = (socket as unknown as { _handle: { fd: number } })._handle;
  const fd = handle.fd;

  child.send({ t: "fill" });
  assert.equal((await waitFor("full", () => messages.find((m) => m.t === "full"))).code, "EMFILE");
  child.send({ t: "conn" }, handle as never);
  await waitFor("an answer", () => (internal.length > 0 ? true : undefined));
  await sleep(300); // a retransmission would have been answered by now
  assert.deepEqual(internal, ["NODE_HANDLE_NACK"], "one NACK, no retransmission");
  assert.equal(messages.filter((m) => m.t === "got").length, 0, "the worker never saw it");
  assert.equal(handle.fd, fd, "still open here");

  child.send({ t: "free" });
  await waitFor("freed", () => messages.find((m) => m.t === "freed"));
  child.send({ t: "conn" }, handle as never);
  const got = await waitFor("delivery", () => messages.find((m) => m.t === "got"));
  assert.equal(got.handle, true);
  assert.deepEqual(internal, ["NODE_HANDLE_NACK", "NODE_HANDLE_ACK"]);
});
