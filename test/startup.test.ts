/**
 * Signals before the "listening" line (systemd's ExecReload or a supervisor's stop can come that
 * early): SIGHUP is ignored with a warning, SIGTERM stops the server once it is up, exit 0. Both
 * killed the primary before (exit 129 for SIGHUP).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import { statusField } from "../bench/lib/proc.ts";
import { CLI } from "../bench/lib/server.ts";
import { sleep } from "./helpers/server.ts";

/** SIGHUP (signal 1) is caught: its bit is set in the process's caught-signal mask. */
function catchesSighup(pid: number): boolean {
  const mask = statusField(pid, "SigCgt") ?? "0";
  return (BigInt(`0x${mask}`) & 1n) === 1n;
}

function start(args: readonly string[]) {
  const proc = spawn(process.execPath, [CLI, "--port", "0", "--admin", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );
  return { proc, exited, output: () => out };
}

/**
 * A handoff server that has installed its signal handlers and not yet printed "listening",
 * sent `signal` right then.
 */
async function signalledWhileStarting(t: TestContext, signal: NodeJS.Signals, level: string) {
  const s = start(["--mode", "handoff", "--workers", "2", "--log-level", level]);
  t.after(() => s.proc.kill("SIGKILL"));
  const pid = s.proc.pid as number;
  for (let i = 0; i < 1000 && !catchesSighup(pid); i++) await sleep(2);
  assert.equal(s.output().includes('"msg":"listening"'), false, "sent before the listening line");
  s.proc.kill(signal);
  return s;
}

describe("signals while starting", () => {
  it("SIGHUP before the listening line is ignored with a warning; the server comes up", async (t) => {
    const s = await signalledWhileStarting(t, "SIGHUP", "warn");
    for (let i = 0; i < 500 && !s.output().includes('"msg":"listening"'); i++) await sleep(20);
    assert.match(s.output(), /"msg":"listening"/);
    assert.match(s.output(), /SIGHUP ignored: the server is still starting/);
    assert.equal(s.proc.exitCode, null, "still running");
  });

  it("SIGTERM before the listening line stops the server once it is up, exit 0", async (t) => {
    const s = await signalledWhileStarting(t, "SIGTERM", "info");
    assert.equal(await s.exited, 0);
    assert.equal(s.output().includes('"msg":"listening"'), false, "never announced");
    assert.match(s.output(), /"msg":"stopped"/);
  });
});
