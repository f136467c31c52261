// One token bucket per key (a sender device, a recipient device) with bounded state:
// at most `maxKeys` buckets, kept in least-recently-used order in a Map (insertion order;
// a touched key is moved to the end, at most once per maxKeys/2 insertions). When a new key would go over the bound, the least
// recently used bucket is dropped. A dropped bucket that had refilled completely carried
// no information; one that had not is a small loss of precision (that key starts again
// with a full burst), counted by `onEvict(true)` so operators can see when the bound is
// too small for the traffic. A hot key (someone flooding one recipient) is touched on
// every envelope and so is never the one dropped.
//
// Keys stay in this process's memory only; they are never logged or exported.
//
// The same stamped-LRU rule as relay/lru.ts, kept here rather than using it: the stamp
// lives on the bucket itself, so a key costs no wrapper object (the bound goes up to
// 10 million keys per limit), and eviction needs the dropped bucket (onEvict).
import { TokenBucket, type Clock, monotonicMs } from './token-bucket.ts';

export interface KeyedBucketsOptions {
  capacity: number;
  ratePerSecond: number;
  maxKeys: number;
  now?: Clock;
  /** A bucket was dropped to stay within maxKeys; `lost` = it was not full. */
  onEvict?: (lost: boolean) => void;
}

type Stamped = TokenBucket & { stamp: number };

export class KeyedBuckets {
  readonly capacity: number;
  readonly ratePerSecond: number;
  readonly maxKeys: number;
  readonly #now: Clock;
  readonly #onEvict: (lost: boolean) => void;
  readonly #buckets = new Map<string, Stamped>();
  /** Counts insertions into #buckets (new keys and refreshes). */
  #clock = 0;

  constructor(o: KeyedBucketsOptions) {
    if (!Number.isSafeInteger(o.maxKeys) || o.maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
    this.capacity = o.capacity;
    this.ratePerSecond = o.ratePerSecond;
    this.maxKeys = o.maxKeys;
    this.#now = o.now ?? monotonicMs;
    this.#onEvict = o.onEvict ?? (() => {});
    new TokenBucket(o.capacity, o.ratePerSecond, 0); // validates capacity and rate now
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** 0 = allowed (n tokens taken from key's bucket); else ms until it would be. `now`: a
   *  reading of this instance's clock the caller already has (one per inbound frame on
   *  the send path: a clock read costs ~55 ns here, several per message added up). */
  take(key: string, n: number, now: number = this.#now()): number {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      // A key we have no state for is by definition not over its limit: a full bucket.
      b = new TokenBucket(this.capacity, this.ratePerSecond, now) as Stamped;
      b.stamp = ++this.#clock;
      this.#buckets.set(key, b);
      if (this.#buckets.size > this.maxKeys) this.#evictOldest(now);
    } else if (this.#clock - b.stamp > this.maxKeys >> 1) {
      // Moved to the end only when maxKeys/2 other keys were (re)inserted since it last
      // was: a Map delete + set on every envelope cost more than the bucket itself. The
      // key at the front has not been touched during the last maxKeys/2 insertions, so a
      // key in use is still never the one dropped.
      this.#buckets.delete(key);
      b.stamp = ++this.#clock;
      this.#buckets.set(key, b);
    }
    return b.take(n, now);
  }

  #evictOldest(now: number): void {
    const oldest = this.#buckets.keys().next();
    if (oldest.done) return;
    const b = this.#buckets.get(oldest.value)!;
    this.#buckets.delete(oldest.value);
    this.#onEvict(!b.isFull(now));
  }

  /** Forgets every bucket (tests, shutdown). */
  clear(): void {
    this.#buckets.clear();
  }
}
