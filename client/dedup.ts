// A bounded set of recently seen envelope ids. The relay delivers at least once, so the
// handset drops repeats by id; remembering the last N ids (not every id ever) keeps
// state.json small. A redelivery older than N messages is vanishingly unlikely because
// the relay deletes a mailbox entry as soon as it is acknowledged.

export class SeenSet {
  readonly capacity: number;
  // A Set iterates in insertion order, so the first key is always the oldest.
  private readonly ids = new Set<string>();

  constructor(capacity: number, initial: Iterable<string> = []) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    for (const id of initial) this.add(id);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds an id; returns false when it was already present. Evicts the oldest beyond
   *  capacity, into `evicted` when given (so that a failed write can put them back). */
  add(id: string, evicted?: string[]): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    while (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest === undefined) break;
      this.ids.delete(oldest);
      evicted?.push(oldest);
    }
    return true;
  }

  /** Forgets an id (one whose record could not be written). */
  delete(id: string): void {
    this.ids.delete(id);
  }

  /** Puts ids an add() evicted back at the old end, in their order, while there is room
   *  (the add's record failed: its write must not cost an older id its memory). Rare, so
   *  the set is rebuilt. */
  restoreOldest(ids: readonly string[]): void {
    const room = this.capacity - this.ids.size;
    if (room <= 0) return;
    // The youngest of them when not all fit: they are the ones the add pushed out last.
    const back = ids.filter((id) => !this.ids.has(id)).slice(-room);
    if (back.length === 0) return;
    const rest = [...this.ids];
    this.ids.clear();
    for (const id of back) this.ids.add(id);
    for (const id of rest) this.ids.add(id);
  }

  /** Holds exactly `ids` (oldest first; beyond capacity only the youngest): a merge with
   *  the stored record (ProfileState) rebuilds the set this way. */
  replace(ids: Iterable<string>): void {
    this.ids.clear();
    for (const id of ids) this.add(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Oldest first, so that reloading keeps the eviction order. */
  toArray(): string[] {
    return [...this.ids];
  }
}

/** A string-keyed map of numbers with the same oldest-first eviction (per-peer sequence counters). */
export class BoundedCounters {
  readonly capacity: number;
  private readonly map = new Map<string, number>();

  constructor(capacity: number, initial: Record<string, number> = {}) {
    this.capacity = capacity;
    for (const [k, v] of Object.entries(initial)) {
      if (Number.isSafeInteger(v) && v >= 0) this.set(k, v);
    }
  }

  get(key: string): number | undefined {
    return this.map.get(key);
  }

  set(key: string, value: number): void {
    // Re-inserting moves the key to the young end: an active peer is never evicted.
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }

  /** Holds exactly `entries` (oldest first; beyond capacity only the youngest). */
  replace(entries: Iterable<readonly [string, number]>): void {
    this.map.clear();
    for (const [k, v] of entries) this.set(k, v);
  }

  /** Oldest first. */
  entries(): IterableIterator<[string, number]> {
    return this.map.entries();
  }

  get size(): number {
    return this.map.size;
  }

  toObject(): Record<string, number> {
    return Object.fromEntries(this.map);
  }
}
