/**
 * A token bucket per source address: `rate` tokens a second, up to `rate` saved (one second's
 * burst). Memory is bounded whatever the sources: at most `maxSources` buckets (bounded-map.ts:
 * the least recently used age out, in constant time; sweeping the whole table for every new
 * source, as before, cost 65,536 steps each), and sweep() forgets full buckets (a new one starts
 * full anyway).
 */
import { BoundedMap } from "../loop/bounded-map.ts";

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimiter {
  readonly #buckets: BoundedMap<Bucket>;
  readonly #rate: number;
  readonly #now: () => number;

  constructor(rate: number, maxSources = 65_536, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#buckets = new BoundedMap(maxSources);
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
      bucket = { tokens: this.#rate, at: now };
      this.#buckets.add(source, bucket);
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
    const rate = this.#rate;
    this.#buckets.deleteWhere((b) => b.tokens + ((now - b.at) * rate) / 1000 >= rate);
  }
}
