// A bounded string-keyed map in least-recently-used order, for the caches of the
// delivery path (relay/tokens.ts: route tags, recipients). The Map's insertion order is
// the LRU order; a key found is moved to the end only when max/2 other keys were
// (re)inserted since it last was (a Map delete + set on every lookup cost more than the
// lookup), so a key in use is still never the one dropped. Process memory only.

interface Slot<V> {
  value: V;
  stamp: number;
}

export class Lru<V> {
  readonly max: number;
  readonly #map = new Map<string, Slot<V>>();
  /** Counts insertions (new keys and refreshes). */
  #clock = 0;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value for key, which counts as a use of it. */
  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    if (this.#clock - slot.stamp > this.max >> 1) {
      this.#map.delete(key);
      slot.stamp = ++this.#clock;
      this.#map.set(key, slot);
    }
    return slot.value;
  }

  /** The value for key, leaving its place in the order as it is. */
  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Adds or replaces key's value (a use of it); the least recently used key goes when
   *  there are more than max. */
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, { value, stamp: ++this.#clock });
    if (this.#map.size > this.max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
