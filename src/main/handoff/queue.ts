/**
 * The connections the handoff primary accepted and has not handed out yet, in one FIFO queue,
 * and the pump that hands each to a worker whose channel is free (docs/ARCHITECTURE.md: a
 * channel carries one handle per round trip, so a connection waits here rather than behind
 * another handle in a worker's channel).
 */
import type { Balance } from "../config/config.ts";
import { pick } from "./balancer.ts";
import { STALL_MS, type WorkerChannel } from "./channel.ts";
import { CONN, type Pending } from "./handles.ts";

export class HandoffQueue {
  readonly #waiting: Pending[] = [];
  readonly #channels: readonly WorkerChannel[];
  readonly #policy: Balance;
  #cursor = 0;
  #stallCheck: NodeJS.Timeout | undefined;

  constructor(channels: readonly WorkerChannel[], policy: Balance) {
    this.#channels = channels;
    this.#policy = policy;
  }

  get length(): number {
    return this.#waiting.length;
  }

  /** A new connection: last in line. */
  push(conn: Pending): void {
    this.#waiting.push(conn);
  }

  /** Connections that went out and came back (refused, or their worker died): first in line. */
  unshift(...conns: Pending[]): void {
    this.#waiting.unshift(...conns);
  }

  /** Hand out what waits, to workers with a free channel, as balance allows. */
  pump(): void {
    const channels = this.#channels;
    while (this.#waiting.length > 0) {
      const i = pick(channels, this.#policy, this.#cursor);
      if (i < 0) break;
      this.#cursor = i + 1;
      this.#send(channels[i] as WorkerChannel, this.#waiting.shift() as Pending);
    }
    // Connections wait for an acknowledgement, which pumps again; should a worker stall
    // instead, look again once it counts as stalled, so the others take its share.
    if (this.#waiting.length > 0 && this.#stallCheck === undefined) {
      this.#stallCheck = setTimeout(() => {
        this.#stallCheck = undefined;
        this.pump();
      }, STALL_MS + 1);
    }
  }

  /** Give what waits up to 2 s to go out, then close the rest. */
  async stop(): Promise<void> {
    for (let waited = 0; this.#waiting.length > 0 && waited < 2_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const conn of this.#waiting.splice(0)) conn.handle.close();
    clearTimeout(this.#stallCheck);
  }

  #send(channel: WorkerChannel, conn: Pending): void {
    // A send that fails (the channel closed under us) and that the exit handler has not already
    // taken back comes back here, so the connection is never dropped silently.
    channel.send(conn, CONN[conn.service], conn.handle, () => {
      this.#waiting.unshift(conn);
      this.pump();
    });
  }
}
