/**
 * A loop's side of injected faults (their grammar: src/fault-spec.ts): the dice. Each loop rolls
 * its own, seeded from --fault-seed and its worker id when given, so the sequence of decisions
 * repeats run after run for the same sequence of requests; a roll is made only for a request
 * that has something to decide.
 */

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
}

/** A loop's dice: from --fault-seed and the worker id, or (no seed) from nowhere in particular. */
export function diceFor(seed: number | null, worker: number): Dice {
  if (seed === null) return new Dice(Math.floor(Math.random() * 2 ** 32));
  // Spread the worker ids over the seed space, so that loops do not share their sequences.
  return new Dice(seed ^ Math.imul(worker + 1, 0x9e3779b1));
}
