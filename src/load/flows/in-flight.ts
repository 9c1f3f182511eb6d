/**
 * What a message-at-a-time flow (udp-flow.ts, h2-flow.ts) has out, oldest first: each message's
 * intended send time (open loop: when it was due) and actual one; and what both do when one is
 * answered or times out: measure it, and in a closed loop send the next in its place.
 */
import type { Group } from "./group.ts";

export class InFlight<K> {
  readonly #at = new Map<K, number>();
  readonly #sentAt = new Map<K, number>();
  readonly #group: Group;
  /** Sends one more message now (closed loop). */
  readonly #send: (now: number) => void;

  constructor(group: Group, send: (now: number) => void) {
    this.#group = group;
    this.#send = send;
  }

  get size(): number {
    return this.#at.size;
  }

  add(key: K, at: number, now: number): void {
    this.#at.set(key, at);
    this.#sentAt.set(key, now);
  }

  /** The oldest message out, if any. */
  oldest(): K | undefined {
    return this.#at.keys().next().value;
  }

  has(key: K): boolean {
    return this.#at.has(key);
  }

  /**
   * `key` was answered at `now` (false: it was not out): measured when `bytes` of it came back
   * intact (null: counted by the caller as an error or mismatch), then the flow goes on.
   */
  answered(key: K, now: number, bytes: number | null): boolean {
    const at = this.#at.get(key);
    if (at === undefined) return false;
    const g = this.#group;
    if (bytes !== null) {
      g.meter.received(now, bytes);
      g.meter.complete(now, at, this.#sentAt.get(key) as number);
    }
    this.#at.delete(key);
    this.#sentAt.delete(key);
    if (g.stopped || !g.running) return true;
    if (g.task.workload === "steady") this.#send(now);
    else g.pump(now); // answers come far more often than the timer ticks: send what is due now
    return true;
  }

  /** Steady, at the start: fill the pipeline again (the first messages came back idle). */
  kick(now: number): void {
    for (let i = this.#at.size; i < this.#group.task.pipeline; i++) this.#send(now);
  }

  /** Each message out longer than the timeout goes to `expired`; a closed loop replaces it. */
  expire(now: number, expired: (key: K) => void): void {
    const g = this.#group;
    for (const [key, at] of this.#at) {
      if (now - at <= g.task.timeoutMs) break; // oldest first: the rest are younger
      this.#at.delete(key);
      this.#sentAt.delete(key);
      expired(key);
      if (g.task.workload === "steady" && g.running && !g.stopped) this.#send(now);
    }
  }

  /** The oldest message out was sent (or due) before `from`. */
  oldestBefore(from: number): boolean {
    const oldest = this.#at.values().next();
    return !oldest.done && oldest.value <= from;
  }

  clear(): void {
    this.#at.clear();
    this.#sentAt.clear();
  }
}
