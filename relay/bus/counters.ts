// Rate-limit counters on the bus (docs/PRIVACY.md, "Discovery that can't be mined").
//
// A counter is a small record (its meaning belongs to relay/privacy/budget.ts) under a
// key `<kind>.<token>`: a short lowercase kind and a 32-hex token, which is a route tag
// or a device token and never anything derived from a phone number by a plain hash.
// Records are shared by every gateway (JetStream KV in NATS mode, this file's
// MemoryCounters in the embedded bus), are compare-and-set like the directory, and
// vanish by themselves COUNTER_TTL_MS after their last write: nobody has to delete them,
// and a record cannot outlive its window by more than that.
import { ErrorCode, HushwireError } from '../errors.ts';
import type { DirectoryRecord } from './bus.ts';

/** Lifetime of a counter after its last write (= the longest rate-limit window). */
export const COUNTER_TTL_MS = 24 * 60 * 60 * 1000;
/** Largest counter value: a few varints. */
export const COUNTER_MAX_VALUE_BYTES = 256;
/** Bound on counters held by the embedded bus; beyond it writes fail UNAVAILABLE. */
export const MEMORY_COUNTERS_MAX = 1_000_000;

const KEY_RE = /^[a-z]{1,8}\.[0-9a-f]{32}$/;

export function checkCounterKey(key: string): void {
  if (typeof key !== 'string' || !KEY_RE.test(key)) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, 'counter key must be <kind>.<32 lowercase hex>');
  }
}

export function checkCounterValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'counter value must be bytes');
  if (value.length > COUNTER_MAX_VALUE_BYTES) throw new HushwireError(ErrorCode.TOO_LARGE, 'counter value too large');
}

export function checkCounterTtl(ms: number): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 1000) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'counter TTL must be an integer of at least 1000 ms');
  }
  return ms;
}

interface Entry {
  value: Uint8Array;
  revision: number;
  expiresAt: number;
}

/** The embedded bus's counters: a Map with a TTL from the last write, like a KV bucket
 *  with max_age (expired records are gone at the next read or sweep). */
export class MemoryCounters {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #map = new Map<string, Entry>(); // insertion order = last-write order
  #revision = 0;

  constructor(ttlMs: number = COUNTER_TTL_MS, max: number = MEMORY_COUNTERS_MAX) {
    this.#ttlMs = checkCounterTtl(ttlMs);
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string, now = Date.now()): DirectoryRecord | null {
    const e = this.#map.get(key);
    if (e === undefined) return null;
    if (e.expiresAt <= now) {
      this.#map.delete(key);
      return null;
    }
    return { value: e.value.slice(), revision: e.revision };
  }

  put(key: string, value: Uint8Array, expectedRevision: number, now = Date.now()): number | null {
    const cur = this.get(key, now);
    if (expectedRevision === 0 ? cur !== null : cur === null || cur.revision !== expectedRevision) return null;
    if (cur === null && this.#map.size >= this.#max) {
      this.sweep(now);
      if (this.#map.size >= this.#max) {
        throw new HushwireError(ErrorCode.UNAVAILABLE, 'rate-limit store full', { retryAfterMs: 1000 });
      }
    }
    const revision = ++this.#revision;
    this.#map.delete(key); // re-insert: Map order stays last-write order for sweep()
    this.#map.set(key, { value: value.slice(), revision, expiresAt: now + this.#ttlMs });
    return revision;
  }

  /** Drops expired records (oldest writes first, so it stops at the first live one). */
  sweep(now = Date.now()): void {
    for (const [key, e] of this.#map) {
      if (e.expiresAt > now) break;
      this.#map.delete(key);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
