/**
 * A loop's side of injected faults (their grammar: src/fault-spec.ts): the dice. Each loop rolls
 * its own, seeded from --fault-seed and its worker id when given, so the sequence of decisions
 * repeats run after run for the same sequence of requests; a roll is made only for a request
 * that has something to decide.
 */

import { type FaultPlan, parseFaults, pick, type Weighted } from "../../fault-spec.ts";

/** The kinds of fault an answer can be given: what echoplex_faults_total counts. */
export type FaultKind = "status" | "delay" | "close" | "reset";

/**
 * A loop's dice: mulberry32, seeded. Not for secrets; for decisions that must repeat run after
 * run, in a few nanoseconds each.
 */
export class Dice {
  #state: number;

  constructor(seed: number) {
    this.#state = seed | 0;
  }

  /** A number in [0, 100). */
  roll(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 100;
  }

  /** True for `p` percent of calls (no roll for 0 or 100). */
  hit(p: number): boolean {
    return p >= 100 || (p > 0 && this.roll() < p);
  }

  /** The value picked from `w`, or undefined (no roll for a lone value: it is every one's). */
  choose(w: Weighted<number> | null): number | undefined {
    if (w === null) return undefined;
    if (w.values.length === 1 && w.upTo[0] === 100) return w.values[0];
    return pick(w, this.roll());
  }
}

/** A loop's dice: from --fault-seed and the worker id, or (no seed) from nowhere in particular. */
export function diceFor(seed: number | null, worker: number, salt = 0): Dice {
  if (seed === null) return new Dice(Math.floor(Math.random() * 2 ** 32));
  // Spread the worker ids over the seed space, so that loops do not share their sequences; each
  // protocol (salt) has dice of its own, so UDP traffic does not shift HTTP's decisions.
  return new Dice(seed ^ Math.imul(worker + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b));
}

/** The salt of each protocol's dice (diceFor). */
export const DICE = { http: 0, tcp: 1, udp: 2, websocket: 3 } as const;

/**
 * What every HTTP answer of a loop may get unless its request says otherwise: --faults, or what
 * the admin's POST /faults set since (the primary checked it; a bad one is refused here too).
 */
export class FaultDefaults {
  #plan: FaultPlan | null = null;
  readonly #maxDelayMs: number;

  constructor(text: string | null, maxDelayMs: number) {
    this.#maxDelayMs = maxDelayMs;
    this.set(text);
  }

  get plan(): FaultPlan | null {
    return this.#plan;
  }

  /** Throws FaultSpecError (and changes nothing) for a spec that is not one. */
  set(text: string | null): void {
    this.#plan = text === null ? null : parseFaults(text, this.#maxDelayMs);
  }
}
