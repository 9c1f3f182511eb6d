/**
 * A token bucket per source address: `rate` tokens a second, up to `rate` saved (one second's
 * burst). Memory is bounded whatever the sources: at most `maxSources` buckets, a full bucket is
 * forgotten (a new one starts full anyway), and at the cap the oldest bucket makes room, in
 * constant time (sweeping a full table for every new source cost 65,536 steps each).
 */
interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: number;
  readonly #maxSources: number;
  readonly #now: () => number;

  constructor(rate: number, maxSources = 65_536, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#maxSources = maxSources;
    this.#now = now;
  }

  get sources(): number {
    return this.#buckets.size;
  }

  /** May `source` send one more? Takes its token if so. */
  take(source: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) {
        // A Map iterates in insertion order: its first key is the oldest bucket.
        this.#buckets.delete(this.#buckets.keys().next().value as string);
      }
      bucket = { tokens: this.#rate, at: now };
      this.#buckets.set(source, bucket);
    } else {
      bucket.tokens = Math.min(this.#rate, bucket.tokens + ((now - bucket.at) * this.#rate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forget the buckets that have refilled (as if their sources had never sent). */
  sweep(now = this.#now()): void {
    for (const [source, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.#rate) / 1000 >= this.#rate) {
        this.#buckets.delete(source);
      }
    }
  }
}
