/**
 * Keeps N workers alive: starts them, reports their messages and exits to the topology,
 * replaces a worker that dies (with a growing delay if it keeps dying), restarts them one at a
 * time on request (rolling restart), and drains them all on stop. A worker is anything
 * Supervised: a ChildProcess with an IPC channel (child_process.fork, node:cluster) or a worker
 * thread behind its adapter (thread-child.ts).
 */
import type { ChildProcess } from "node:child_process";
import { EchoplexError, fail } from "../../errors.ts";
import { LINES, type Logger } from "../../log.ts";
import {
  type FromWorker,
  isFromWorker,
  type Ports,
  type ToWorker,
  type WorkerStats,
} from "../../messages.ts";
import type { TopologyMetrics } from "../topology.ts";
import { CrashWindow, crashLoopError } from "./crash-loop.ts";

/** What the supervisor uses of a worker: ChildProcess has it, ThreadChild adapts a thread. */
export interface Supervised {
  readonly pid?: number | undefined;
  readonly connected: boolean;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  /** `done` gets a failed write (the worker just died): with it, no "error" event is emitted. */
  send(message: ToWorker, done: (err: Error | null) => void): unknown;
  /** SIGKILL a process, terminate() a thread. */
  kill(signal: "SIGKILL"): unknown;
  on(event: "message", listener: (message: unknown, handle: object | undefined) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  once(
    event: "exit",
    listener: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): unknown;
}

export interface Slot<C extends Supervised = ChildProcess> {
  readonly id: number;
  child: C;
  ready: boolean;
  /** The ports the worker reported in its ready message. */
  ports: Ports;
  /** Its latest counters, once it has sent some. */
  stats?: WorkerStats;
}

export interface SupervisorHooks<C extends Supervised = ChildProcess> {
  /** Every message of ours from a worker, before the supervisor looks at it. */
  message?(slot: Slot<C>, message: FromWorker, handle: object | undefined): void;
  /** A (new or replacement) worker is ready. */
  ready?(slot: Slot<C>): void;
  /** A worker exited; it will be replaced unless the supervisor is stopping. */
  exit?(slot: Slot<C>): void;
  /** Workers keep dying (a crash loop): the server should stop. */
  crashLoop?(err: Error): void;
  /**
   * A worker not ready this long after it was spawned is killed, and its start fails (a hung
   * successor would hold a rolling restart for ever); 0: no limit.
   */
  startTimeoutMs?: number;
}

const NO_PORTS: Ports = { echo: 0, http: null, udp: null };
const RESPAWN_BASE_MS = 50;
const RESPAWN_MAX_MS = 5_000;
/** A worker that lived this long resets the respawn back-off. */
const HEALTHY_MS = 10_000;
/** After the drain timeout, how long workers get to exit before SIGKILL. */
const EXIT_GRACE_MS = 3_000;

export class Supervisor<C extends Supervised = ChildProcess> {
  readonly slots: Slot<C>[] = [];
  #stopping = false;
  #rolling = false;
  /** Workers outside `slots`: successors starting in a rolling restart, predecessors draining. */
  readonly #aside = new Set<Slot<C>>();
  #failures = 0;
  #restarts = 0;
  /** Slots that have had a ready worker: a worker that dies there, even starting, is replaced. */
  readonly #served = new Set<number>();
  readonly #crashes = new CrashWindow();
  readonly #spawn: (id: number) => C;
  readonly #log: Logger;
  readonly #hooks: SupervisorHooks<C>;
  /** --faults as POST /faults last set it ("off" for none), or undefined: as each worker started. */
  #faults: string | undefined;

  constructor(spawn: (id: number) => C, log: Logger, hooks: SupervisorHooks<C> = {}) {
    this.#spawn = spawn;
    this.#log = log;
    this.#hooks = hooks;
  }

  metrics(): TopologyMetrics {
    const workers = new Map<number, WorkerStats>();
    for (const slot of this.slots) if (slot.stats !== undefined) workers.set(slot.id, slot.stats);
    return { workers, restarts: this.#restarts };
  }

  /**
   * New --faults for every HTTP answer ("off" for none): to every worker now, and to each worker
   * that becomes ready from now on (a replacement, a rolling restart's successor) before anything
   * else is sent to it.
   */
  setFaults(faults: string): void {
    this.#faults = faults;
    for (const slot of [...this.slots, ...this.#aside])
      if (slot.ready) this.#send(slot, { t: "faults", faults });
  }

  /** Slots holding a ready worker. */
  readyCount(): number {
    return this.slots.filter((slot) => slot.ready).length;
  }

  /** Start worker `id` and wait until it is ready. Rejects if it fails or dies first. */
  add(id: number): Promise<Slot<C>> {
    return this.#start(id, true);
  }

  /**
   * Rolling restart: for each slot in turn, start a successor and wait until it is ready (it
   * takes connections from then on), then tell its predecessor to drain for `ms`. One worker at
   * a time, so capacity never drops below N. Resolves when every slot has a new worker; if a
   * successor fails to start, its predecessor stays and the restart stops there (rejects).
   */
  async restart(ms: number): Promise<void> {
    if (this.#rolling || this.#stopping) return;
    this.#rolling = true;
    try {
      for (let id = 0; id < this.slots.length; id++) {
        const next = await this.#start(id, false);
        this.#aside.delete(next);
        if (this.#stopping) {
          this.#send(next, { t: "drain", ms: 0 });
          return;
        }
        // Read now, not before the wait: a crash may have replaced the worker meanwhile.
        const old = this.slots[id] as Slot<C>;
        this.slots[id] = next;
        this.#aside.add(old);
        this.#send(old, { t: "drain", ms });
        this.#log.info(
          { worker: old.id, workerPid: old.child.pid, successorPid: next.child.pid },
          "worker replaced; the old one drains",
        );
      }
    } finally {
      this.#rolling = false;
    }
  }

  /** Spawn worker `id`, in its slot or (`install` false) aside; resolves once it is ready. */
  #start(id: number, install: boolean): Promise<Slot<C>> {
    return new Promise((resolve, reject) => {
      const slot: Slot<C> = { id, child: this.#spawn(id), ready: false, ports: NO_PORTS };
      if (install) this.slots[id] = slot;
      else this.#aside.add(slot);
      const limit = this.#hooks.startTimeoutMs ?? 0;
      const timer =
        limit > 0 ? setTimeout(() => this.#startTimedOut(slot, limit, reject), limit) : undefined;
      const settled = () => clearTimeout(timer);
      slot.child.once("exit", settled);
      this.#watch(
        slot,
        (s) => {
          settled();
          resolve(s);
        },
        reject,
      );
    });
  }

  #startTimedOut(slot: Slot<C>, ms: number, reject: (err: Error) => void): void {
    if (slot.ready) return;
    reject(
      fail("ECHOPLEX_WORKER_FAILED", {
        worker: slot.id,
        why: `was not ready within --start-timeout (${ms / 1000} s); killed it`,
      }),
    );
    slot.child.kill("SIGKILL");
  }

  #send(slot: Slot<C>, message: ToWorker): void {
    // A worker can die between `connected` and the write: its exit is handled where it is heard.
    if (slot.child.connected) slot.child.send(message, ignore);
  }

  #watch(slot: Slot<C>, resolve: (slot: Slot<C>) => void, reject: (err: Error) => void): void {
    const child = slot.child;
    const startedAt = Date.now();
    child.on("message", (message: unknown, handle: object | undefined) => {
      if (!isFromWorker(message) || slot.child !== child) return;
      this.#hooks.message?.(slot, message, handle);
      if (message.t === "stats") slot.stats = message.stats;
      if (message.t === "ready") {
        slot.ready = true;
        slot.ports = message.ports;
        this.#served.add(slot.id);
        if (this.#faults !== undefined) this.#send(slot, { t: "faults", faults: this.#faults });
        this.#log.debug({ worker: slot.id, workerPid: child.pid }, "worker ready");
        this.#hooks.ready?.(slot);
        resolve(slot);
      } else if (message.t === "failed") {
        // The worker's own error, made from the table there: only its code and line cross over.
        reject(new EchoplexError(message.code, message.message));
      }
    });
    child.on("error", (err) =>
      this.#log.warn({ worker: slot.id, err: err.message }, "worker error"),
    );
    child.once("exit", (code, signal) => {
      if (slot.child !== child) return;
      const wasReady = slot.ready;
      slot.ready = false;
      this.#hooks.exit?.(slot);
      // A predecessor done draining, or a successor that failed: nothing to replace.
      const installed = this.slots[slot.id] === slot;
      this.#aside.delete(slot);
      if (!wasReady) {
        reject(
          fail("ECHOPLEX_WORKER_FAILED", {
            worker: slot.id,
            why: `exited before it was ready (code ${code}, signal ${signal})`,
          }),
        );
      }
      // A worker that never got ready on first start fails the start (rejected above); one that
      // dies while replacing another is replaced in turn, so a slot is never left empty.
      if (this.#stopping || !installed || !this.#served.has(slot.id)) return;
      // Only replacements that cannot start make a crash loop (a bad certificate, code that
      // throws at load): a worker that crashed after serving is replaced for as long as it takes,
      // so what clients send can never stop the server. With no crashLoop hook, replacing goes
      // on whatever the rate.
      if (!wasReady && this.#crashes.record() && this.#hooks.crashLoop !== undefined) {
        this.#hooks.crashLoop(crashLoopError("replacement workers"));
        return;
      }
      this.#log.warn({ worker: slot.id, workerPid: child.pid, code, signal }, LINES.workerReplaced);
      this.#failures = Date.now() - startedAt > HEALTHY_MS ? 0 : this.#failures + 1;
      this.#restarts++;
      const delay = Math.min(
        RESPAWN_MAX_MS,
        RESPAWN_BASE_MS * 2 ** Math.max(0, this.#failures - 1),
      );
      setTimeout(
        () => {
          // A rolling restart may have put a successor in the slot meanwhile: it stays.
          if (this.#stopping || this.slots[slot.id] !== slot) return;
          this.add(slot.id).catch((err: Error) =>
            this.#log.error({ worker: slot.id, err: err.message }, "replacement worker failed"),
          );
        },
        this.#failures === 0 ? 0 : delay,
      );
    });
  }

  /** Tell every worker to drain for `ms`, and resolve once all have exited. */
  async stop(ms: number): Promise<void> {
    this.#stopping = true;
    const all = [...this.slots, ...this.#aside];
    const exits = all.map((slot) => exited(slot.child));
    for (const slot of all) this.#send(slot, { t: "drain", ms });
    const killer = setTimeout(() => {
      for (const slot of all) slot.child.kill("SIGKILL");
    }, ms + EXIT_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(killer);
  }
}

function exited(child: Supervised): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function ignore(): void {}
