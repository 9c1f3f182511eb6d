import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger } from "../src/log.ts";
import { Supervisor } from "../src/main/supervisor.ts";
import { waitFor } from "./helpers/server.ts";

const FIXTURE = fileURLToPath(new URL("fixtures/short-lived-worker.ts", import.meta.url));

it("replaces a worker that keeps dying young after a growing delay", async () => {
  const spawns: number[] = [];
  const supervisor = new Supervisor(() => {
    spawns.push(Date.now());
    return fork(FIXTURE, [], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
  }, createLogger("silent"));
  await supervisor.add(0);
  await waitFor("five replacements", () => (spawns.length >= 6 ? true : undefined), 20_000);
  await supervisor.stop(0);
  const gaps = spawns.slice(1).map((t, i) => t - (spawns[i] as number));
  // Delays of 50, 100, 200, 400, 800 ms on top of each worker's short life.
  assert.ok(
    (gaps[4] as number) > 3 * (gaps[1] as number),
    `gaps between spawns: ${gaps.join(", ")} ms`,
  );
  assert.ok((gaps[4] as number) >= 800, `gaps between spawns: ${gaps.join(", ")} ms`);
});

/** A stand-in for a worker process: the test says when it is ready and when it dies. */
class FakeChild extends EventEmitter {
  static next = 1000;
  readonly pid = FakeChild.next++;
  connected = true;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly sent: unknown[] = [];
  send(message: unknown): boolean {
    this.sent.push(message);
    return true;
  }
  kill(): boolean {
    this.die();
    return true;
  }
  ready(): void {
    this.emit("message", { t: "ready", id: 0, ports: { echo: 1, http: null, udp: null } });
  }
  die(): void {
    if (this.exitCode !== null) return;
    this.exitCode = 1;
    this.connected = false;
    this.emit("exit", 1, null);
  }
}

it("a crashed worker's delayed replacement never takes the slot a rolling restart filled meanwhile", async () => {
  const children: FakeChild[] = [];
  const supervisor = new Supervisor(() => {
    const child = new FakeChild();
    children.push(child);
    return child as unknown as ChildProcess;
  }, createLogger("silent"));
  const first = supervisor.add(0);
  (children[0] as FakeChild).ready();
  await first;
  const restart = supervisor.restart(1_000);
  const successor = children[1] as FakeChild;
  // The old worker dies young (a delayed replacement is scheduled), then the successor is ready.
  (children[0] as FakeChild).die();
  successor.ready();
  await restart;
  await new Promise((r) => setTimeout(r, 200)); // past the replacement's delay
  assert.equal(children.length, 2, "no replacement was spawned over the successor");
  assert.equal(supervisor.slots[0]?.child, successor as unknown as ChildProcess);
  await Promise.all([supervisor.stop(0), Promise.resolve().then(() => successor.die())]);
});
