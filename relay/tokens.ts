// Route and device tokens: fixed-length lowercase hex of random or OPRF-derived bytes.
// They are validated before any NATS subject or KV key is built from them, so no `.`,
// `*`, `>`, space or other byte can ever reach the bus.
//
// The bus never sees the full route id either: it keys everything by `routeTag`, a
// 128-bit domain-separated hash of the route. Logs see neither (see relay/log.ts).
import { hash as nodeHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ROUTE_BYTES, DEVICE_BYTES } from './wire.ts';
import { HushwireError, ErrorCode } from './errors.ts';

// Node's native slicers (Buffer.prototype, callable on any Uint8Array): faster than
// building the string in JS on a path taken once per envelope.
const nativeSlice = Buffer.prototype as unknown as {
  hexSlice: (this: Uint8Array, start: number, end: number) => string;
  latin1Slice: (this: Uint8Array, start: number, end: number) => string;
};
const hexSlice = nativeSlice.hexSlice;
const latin1 = (b: Uint8Array): string => nativeSlice.latin1Slice.call(b, 0, b.length);

const TAG_DOMAIN = new TextEncoder().encode('hushwire route tag v1\0');
const HEX_RE = /^[0-9a-f]+$/;

export function assertRoute(route: unknown): asserts route is Uint8Array {
  if (!(route instanceof Uint8Array) || route.length !== ROUTE_BYTES) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, `route must be ${ROUTE_BYTES} bytes`);
  }
}

export function assertDevice(device: unknown): asserts device is Uint8Array {
  if (!(device instanceof Uint8Array) || device.length !== DEVICE_BYTES) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, `device must be ${DEVICE_BYTES} bytes`);
  }
}

/** Recently computed tags: every envelope needs its recipient's tag, and SHA-256 in JS
 *  per envelope was ~5% of a gateway's busy time (docs/BENCHMARKS.md). Bounded LRU,
 *  process memory only. */
const TAG_CACHE_MAX = 65_536;
const tagCache = new Map<string, { tag: string; stamp: number }>();
let tagClock = 0;

/** 32 lowercase hex chars: the bus key for a route (never the route itself). */
export function routeTag(route: Uint8Array): string {
  assertRoute(route);
  const key = latin1(route);
  const hit = tagCache.get(key);
  if (hit !== undefined) {
    // Refresh its place in the LRU order, but only once per TAG_CACHE_MAX/2 insertions
    // (a Map delete + set per envelope cost more than the lookup).
    if (tagClock - hit.stamp > TAG_CACHE_MAX >> 1) {
      tagCache.delete(key);
      hit.stamp = ++tagClock;
      tagCache.set(key, hit);
    }
    return hit.tag;
  }
  const buf = new Uint8Array(TAG_DOMAIN.length + route.length);
  buf.set(TAG_DOMAIN, 0);
  buf.set(route, TAG_DOMAIN.length);
  const tag = bytesToHex(sha256(buf).subarray(0, 16));
  tagCache.set(key, { tag, stamp: ++tagClock });
  if (tagCache.size > TAG_CACHE_MAX) {
    const oldest = tagCache.keys().next().value;
    if (oldest !== undefined) tagCache.delete(oldest);
  }
  return tag;
}

/** routeTag for a device authenticating: read from the cache, but not added to it. The
 *  session keeps its tag for as long as it is connected, so a cache entry (~130 B: the
 *  route as a latin1 key, the entry, the Map slot) per idle device held nothing the
 *  session did not; the cache is for recipients' tags, looked up per envelope. */
export function routeTagUncached(route: Uint8Array): string {
  assertRoute(route);
  const hit = tagCache.get(latin1(route));
  if (hit !== undefined) return hit.tag;
  const buf = Buffer.allocUnsafe(TAG_DOMAIN.length + route.length);
  buf.set(TAG_DOMAIN, 0);
  buf.set(route, TAG_DOMAIN.length);
  // node:crypto's one-shot hash: faster than the JS SHA-256 on this once-per-connect path.
  // The digest's first 16 bytes as hex, made from the bytes: slicing a 64-char hex string
  // would keep a sliced string and its whole parent (~110 B) alive in every session.
  return hexSlice.call(nodeHash('sha256', buf, 'buffer'), 0, 16);
}

/** 32 lowercase hex chars for a 16-byte device id. */
export function deviceToken(device: Uint8Array): string {
  assertDevice(device);
  return hexSlice.call(device, 0, device.length);
}

/** Checks a token string that is about to become a subject token or KV key. */
/** Whether `token` has a token's form (32 lowercase hex characters). */
export function isToken(token: unknown): token is string {
  return typeof token === 'string' && token.length === 32 && HEX_RE.test(token);
}

export function assertToken(token: string): void {
  if (!isToken(token)) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, 'token must be 32 lowercase hex characters');
  }
}
