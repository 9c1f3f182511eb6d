/**
 * A Map that holds at most `max` entries, in constant time per operation, whatever the keys: two
 * generations of `max / 2`. New entries go into the current one; when it is full it becomes the
 * previous one and the old previous one is dropped whole; an entry read from the previous one
 * moves to the current one. So what is used stays and what is not ages out. (Evicting the oldest
 * key of one Map with `keys().next()` is not constant time in V8: it walks over the holes left by
 * deletions, ~20 us per new key at 65,536 entries.)
 */
export class BoundedMap<V> {
  readonly #half: number;
  #current = new Map<string, V>();
  #previous = new Map<string, V>();

  constructor(max: number) {
    this.#half = Math.max(1, Math.floor(max / 2));
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: string): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const old = this.#previous.get(key);
    if (old !== undefined) {
      this.#previous.delete(key);
      this.#put(key, old);
    }
    return old;
  }

  /** Add an entry for a key that get() did not find. */
  add(key: string, value: V): void {
    this.#put(key, value);
  }

  /** Delete every entry `drop` says to (a periodic clean-up: linear in the size). */
  deleteWhere(drop: (value: V) => boolean): void {
    for (const map of [this.#current, this.#previous]) {
      for (const [key, value] of map) if (drop(value)) map.delete(key);
    }
  }

  #put(key: string, value: V): void {
    if (this.#current.size >= this.#half) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
  }
}
