/**
 * The UDP echo's --udp-faults (src/fault-plans.ts), per datagram, on the loop's dice: dropped,
 * answered twice, answered with its first half only, or answered later. A delayed answer is a
 * timer this class owns: at most MAX_DELAYED at once per socket (a datagram past that is not
 * answered, counted busy by the caller), all cleared when the socket closes.
 */
import { parseUdpFaults, type UdpFaultPlan } from "../../fault-plans.ts";
import type { UdpFaultCounts } from "../../stats.ts";
import { DICE, type Dice, diceFor } from "../answers/injected.ts";
import type { Tally } from "../loop/tally.ts";

/** Delayed answers one socket holds at most (each holds its datagram, up to 64 KiB). */
export const MAX_DELAYED = 1_024;

export class UdpFaults {
  readonly #plan: UdpFaultPlan;
  readonly #dice: Dice;
  readonly #counts: UdpFaultCounts;
  readonly #delayed = new Set<NodeJS.Timeout>();

  constructor(plan: UdpFaultPlan, dice: Dice, counts: UdpFaultCounts) {
    this.#plan = plan;
    this.#dice = dice;
    this.#counts = counts;
  }

  /**
   * Answer `message` through `send`, as the dice say: now, later, twice, cut or not at all.
   * False if it was to wait and MAX_DELAYED answers wait already (not answered).
   */
  answer(message: Buffer, send: (m: Buffer) => void): boolean {
    const plan = this.#plan;
    const dice = this.#dice;
    const counts = this.#counts;
    if (dice.hit(plan.drop)) {
      counts.drop++;
      return true;
    }
    let out = message;
    if (dice.hit(plan.truncate)) {
      counts.truncate++;
      out = message.subarray(0, message.length >> 1);
    }
    const twice = dice.hit(plan.duplicate);
    if (twice) counts.duplicate++;
    const delay = dice.choose(plan.delay) ?? 0;
    if (delay <= 0) {
      send(out);
      if (twice) send(out);
      return true;
    }
    if (this.#delayed.size >= MAX_DELAYED) return false;
    counts.delay++;
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      send(out);
      if (twice) send(out);
    }, delay);
    this.#delayed.add(timer);
    return true;
  }

  /** The socket closed: no answer is owed any more. */
  close(): void {
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
  }
}

/** A loop's --udp-faults, or null without them. */
export function udpFaults(
  o: {
    readonly udpFaults: string | null;
    readonly maxDelayMs: number;
    readonly faultSeed: number | null;
  },
  s: { readonly worker: number; readonly tally: Tally },
): UdpFaults | null {
  if (o.udpFaults === null) return null;
  const plan = parseUdpFaults(o.udpFaults, o.maxDelayMs);
  return new UdpFaults(plan, diceFor(o.faultSeed, s.worker, DICE.udp), s.tally.faults.udp);
}
