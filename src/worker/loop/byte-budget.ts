/**
 * Bytes one echo loop may hold at once for a purpose (HTTP: gathered request bodies and answers
 * not yet sent), its share of a server-wide bound. Each holder takes what it holds and gives it
 * back when done; a take that would pass the bound fails, and the caller refuses that request.
 */
export class ByteBudget {
  readonly #max: number;
  #held = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get held(): number {
    return this.#held;
  }

  /** Hold `n` more bytes if the bound allows it. */
  take(n: number): boolean {
    if (this.#held + n > this.#max) return false;
    this.#held += n;
    return true;
  }

  give(n: number): void {
    this.#held -= n;
  }
}
