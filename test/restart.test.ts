/**
 * SIGHUP: a rolling restart, one worker at a time, each successor ready before its predecessor
 * stops taking connections. (Under 200 streaming connections: test/faults/signals.test.ts.)
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { LINES } from "../src/log.ts";
import { echoThrough, HOST, open, random, roundTrip } from "./helpers/client.ts";
import { childPids, serve, sleep, waitFor } from "./helpers/server.ts";
import { CA, serveTlsFiles, TLS } from "./helpers/tls.ts";

/** One TLS echo: connect trusting `ca` (the test certificate), send, half-close, collect. */
function tlsRoundTrip(port: number, payload: Buffer, ca: Buffer = CA): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: HOST, port, ca, servername: "localhost" }, () =>
      socket.end(payload),
    );
    const parts: Buffer[] = [];
    socket.on("data", (d: Buffer) => parts.push(d));
    socket.on("end", () => resolve(Buffer.concat(parts)));
    socket.on("error", reject);
  });
}

async function readyz(admin: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${admin}/readyz`)).status;
}

describe("rolling restart (SIGHUP)", () => {
  for (const mode of ["handoff", "cluster", "cluster-shared", "reuseport"]) {
    it(`replaces every worker and keeps serving (${mode})`, async (t) => {
      const server = await serve(t, ["--mode", mode, "--workers", "2", "--log-level", "info"]);
      const before = childPids(server.pid);
      assert.equal(before.length, 2);
      // A connection open across the restart keeps echoing on its (draining) old worker.
      const kept = await open(server.port);
      t.after(() => kept.destroy());
      await roundTrip(kept, random(100));
      process.kill(server.pid, "SIGHUP");
      await waitFor("the rolling restart to finish", () =>
        server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
      );
      const payload = random(10_000);
      assert.deepEqual(await roundTrip(kept, payload), payload, "old connection still echoes");
      const now = await waitFor("the old workers to exit", () => {
        const pids = childPids(server.pid);
        return pids.length === 2 ? pids : undefined;
      });
      for (const pid of now) assert.ok(!before.includes(pid), "every worker is new");
      for (let i = 0; i < 5; i++) {
        const p = random(1000);
        assert.deepEqual(await echoThrough(server.port, p), p);
      }
      assert.ok(!server.lines.some((l) => l.msg === LINES.workerReplaced));
    });
  }

  it("threads: replaces every thread and keeps serving", async (t) => {
    const server = await serve(t, ["--mode", "threads", "--workers", "2", "--log-level", "info"]);
    process.kill(server.pid, "SIGHUP");
    await waitFor("the rolling restart to finish", () =>
      server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
    );
    await waitFor("both old threads to stop", () =>
      server.lines.filter((l) => l.msg === LINES.workerStopped).length >= 2 ? true : undefined,
    );
    const p = random(1000);
    assert.deepEqual(await echoThrough(server.port, p), p);
  });

  it("/readyz is 503 while the restart runs, 200 after; /healthz stays 200", async (t) => {
    const server = await serve(t, ["--mode", "handoff", "--workers", "2", "--admin", "0"]);
    const admin = (server.lines.find((l) => l.msg === LINES.listening)?.admin ?? 0) as number;
    assert.equal(await readyz(admin), 200);
    process.kill(server.pid, "SIGHUP");
    const seen = new Set<number>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const status = await readyz(admin);
      seen.add(status);
      if (seen.has(503) && status === 200) break;
      assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200);
      await sleep(5);
    }
    assert.deepEqual([...seen].sort(), [200, 503]);
  });

  it("a successor that cannot start stops the restart; the old workers keep serving", async (t) => {
    // An operator replaced the key with one that does not match the certificate, then reloaded.
    const { server, key } = await serveTlsFiles(t, ["--admin", "0"]);
    const admin = server.listening.admin as number;
    const before = childPids(server.pid);
    copyFileSync(TLS.otherKey, key);
    process.kill(server.pid, "SIGHUP");
    const stopped = await waitFor("the restart to stop", () =>
      server.lines.find((l) => String(l.msg).startsWith("rolling restart stopped")),
    );
    assert.equal(stopped.code, "ECHOPLEX_BAD_TLS");
    // The failed successor reports, then exits: wait for it to be gone.
    const after = await waitFor("the failed successor to exit", () => {
      const pids = childPids(server.pid);
      return pids.length === before.length ? pids : undefined;
    });
    assert.deepEqual(after.sort(), before.sort(), "the old workers stay");
    assert.equal(await readyz(admin), 200);
    assert.ok(!server.lines.some((l) => l.msg === LINES.workerReplaced));
    const payload = random(1000);
    assert.deepEqual(await tlsRoundTrip(server.port, payload), payload);
  });

  it("a successor that is never ready is killed after --start-timeout; the restart stops, the old workers serve", async (t) => {
    // The key became a FIFO nobody writes to: a successor blocks reading it, neither ready nor
    // exiting. Without a start timeout the restart waited for ever and ignored every SIGHUP.
    const { server, key } = await serveTlsFiles(t, ["--start-timeout", "1"]);
    const before = childPids(server.pid);
    rmSync(key);
    execFileSync("mkfifo", [key]);
    process.kill(server.pid, "SIGHUP");
    const stopped = await waitFor("the restart to stop", () =>
      server.lines.find((l) => String(l.msg).startsWith("rolling restart stopped")),
    );
    assert.equal(stopped.code, "ECHOPLEX_WORKER_FAILED");
    assert.match(String(stopped.err), /--start-timeout/);
    const after = await waitFor("the hung successor to be killed", () => {
      const pids = childPids(server.pid);
      return pids.length === before.length ? pids : undefined;
    });
    assert.deepEqual(after.sort(), before.sort(), "the old workers stay");
    const payload = random(1000);
    assert.deepEqual(await tlsRoundTrip(server.port, payload), payload);
    // The restart is over: a new SIGHUP is taken, not ignored as "under way".
    copyFileSync(TLS.key, `${key}.real`);
    rmSync(key);
    copyFileSync(`${key}.real`, key);
    process.kill(server.pid, "SIGHUP");
    await waitFor("the second restart to finish", () =>
      server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
    );
  });

  it("rotates the TLS certificate: successors read the files again", async (t) => {
    const { server, cert, key } = await serveTlsFiles(t, ["--drain-timeout", "5"]);
    // A connection made before the rotation keeps its session on its draining worker.
    const kept = tlsConnect({ host: HOST, port: server.port, ca: CA, servername: "localhost" });
    t.after(() => kept.destroy());
    await once(kept, "secureConnect");
    copyFileSync(TLS.nextCert, cert);
    copyFileSync(TLS.nextKey, key);
    process.kill(server.pid, "SIGHUP");
    await waitFor("the rolling restart to finish", () =>
      server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
    );
    const next = readFileSync(TLS.nextCert);
    const payload = random(1000);
    assert.deepEqual(
      await tlsRoundTrip(server.port, payload, next),
      payload,
      "the new certificate",
    );
    await assert.rejects(tlsRoundTrip(server.port, payload, CA), "the old one is gone");
    const echoed = once(kept, "data");
    kept.write("still here");
    assert.equal(String((await echoed)[0]), "still here");
    kept.destroy(); // before the server's stop, whose drain would wait for it
  });

  it("a SIGHUP during a restart is ignored, with a warning; /readyz says why it is 503", async (t) => {
    const server = await serve(t, [
      ...["--mode", "handoff", "--workers", "2", "--admin", "0", "--log-level", "info"],
    ]);
    process.kill(server.pid, "SIGHUP");
    await waitFor("the restart to begin", () =>
      server.lines.some((l) => l.msg === LINES.restart) ? true : undefined,
    );
    const res = await fetch(`http://127.0.0.1:${server.listening.admin}/readyz`);
    assert.deepEqual(await res.json(), { ready: false, reason: "rolling restart" });
    process.kill(server.pid, "SIGHUP");
    await waitFor("the restart to finish", () =>
      server.lines.some((l) => l.msg === LINES.restartDone) ? true : undefined,
    );
    const said = (msg: string) => server.lines.filter((l) => l.msg === msg).length;
    assert.equal(said("SIGHUP ignored: a rolling restart is under way"), 1);
    assert.equal(said("rolling restart"), 1);
    assert.equal(said("worker replaced; the old one drains"), 2);
  });

  it("single mode ignores SIGHUP with a warning and keeps serving", async (t) => {
    const server = await serve(t, ["--mode", "single"]);
    process.kill(server.pid, "SIGHUP");
    await waitFor("the warning", () =>
      server.lines.some((l) => String(l.msg).startsWith("SIGHUP ignored")) ? true : undefined,
    );
    const p = random(100);
    assert.deepEqual(await echoThrough(server.port, p), p);
  });
});
