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
import { Lru } from './lru.ts';
import { hexSlice, latin1Slice } from './bytes.ts';
import { assertRoute, assertDevice } from './token-shape.ts';

export { assertRoute, assertDevice } from './token-shape.ts';

// Node's native slicers (relay/bytes.ts): faster than building the string in JS on a
// path taken once per envelope.
const latin1 = (b: Uint8Array): string => latin1Slice.call(b, 0, b.length);

const TAG_DOMAIN = new TextEncoder().encode('hushwire route tag v1\0');
const HEX_RE = /^[0-9a-f]+$/;

/** Recently computed tags: every envelope needs its recipient's tag, and SHA-256 in JS
 *  per envelope was ~5% of a gateway's busy time (docs/BENCHMARKS.md). Bounded LRU,
 *  process memory only. */
const TAG_CACHE_MAX = 65_536;
const tagCache = new Lru<string>(TAG_CACHE_MAX);

/** 32 lowercase hex chars: the bus key for a route (never the route itself). */
export function routeTag(route: Uint8Array): string {
  assertRoute(route);
  const key = latin1(route);
  const hit = tagCache.get(key);
  if (hit !== undefined) return hit;
  const buf = new Uint8Array(TAG_DOMAIN.length + route.length);
  buf.set(TAG_DOMAIN, 0);
  buf.set(route, TAG_DOMAIN.length);
  const tag = bytesToHex(sha256(buf).subarray(0, 16));
  tagCache.set(key, tag);
  return tag;
}

/** routeTag for a device authenticating: read from the cache, but not added to it. The
 *  session keeps its tag for as long as it is connected, so a cache entry (~130 B: the
 *  route as a latin1 key, the entry, the Map slot) per idle device held nothing the
 *  session did not; the cache is for recipients' tags, looked up per envelope. */
export function routeTagUncached(route: Uint8Array): string {
  assertRoute(route);
  const hit = tagCache.peek(latin1(route));
  if (hit !== undefined) return hit;
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

/**
 * A recipient device as the bus addresses it: its route tag, its device token, and the
 * two joined by a dot (`key`: the subject suffix, and the key of the per-recipient rate
 * bucket and of the live router's state). Only made here, from checked bytes or tokens,
 * so whoever receives one (the bus) need not check its strings again.
 */
export class Recipient {
  readonly tag: string;
  readonly device: string;
  readonly key: string;
  /** Private by convention: use recipientAt or Recipient.of. */
  constructor(tag: string, device: string, brand: typeof BRAND) {
    if (brand !== BRAND) throw new TypeError('use recipientAt or Recipient.of');
    this.tag = tag;
    this.device = device;
    this.key = `${tag}.${device}`;
  }

  /** From a route tag and a device token (BAD_TOKEN unless both have a token's form). */
  static of(tag: string, device: string): Recipient {
    assertToken(tag);
    assertToken(device);
    return new Recipient(tag, device, BRAND);
  }
}

const BRAND: unique symbol = Symbol('recipient');

/** Recipients of recent envelopes, keyed by their route and device bytes as latin1 with
 *  the two bytes of the device field's protobuf header between them (what a frame holds
 *  there: see recipientAt). Process memory only, bounded LRU like the tag cache: every
 *  envelope needs its recipient's tag, token and key, and making them (two strings, two
 *  joins, hashing each fresh string for each map it is looked up in) per envelope was
 *  ~2% of a gateway's allocation in chat. */
const RECIPIENT_CACHE_MAX = 32_768;
const recipientCache = new Lru<Recipient>(RECIPIENT_CACHE_MAX);
/** Tag and length byte of Envelope.device (field 3, length-delimited, 16 bytes). */
const DEVICE_HEAD = String.fromCharCode((3 << 3) | 2, DEVICE_BYTES);

/**
 * The recipient of an envelope whose route is data[routeStart, routeStart + 32) and
 * whose device is data[deviceStart, deviceStart + 16) (the caller checked both lengths).
 * When the device field directly follows the route in the frame, as every encoder writes
 * it, the cache key is one slice of the frame.
 */
export function recipientAt(data: Uint8Array, routeStart: number, deviceStart: number): Recipient {
  const routeEnd = routeStart + ROUTE_BYTES;
  const deviceEnd = deviceStart + DEVICE_BYTES;
  if (routeStart < 0 || deviceStart < 0 || routeEnd > data.length || deviceEnd > data.length) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, 'route or device out of range');
  }
  const key = deviceStart === routeEnd + 2 && data[routeEnd] === ((3 << 3) | 2) && data[routeEnd + 1] === DEVICE_BYTES
    ? latin1Slice.call(data, routeStart, deviceEnd)
    : latin1Slice.call(data, routeStart, routeEnd) + DEVICE_HEAD + latin1Slice.call(data, deviceStart, deviceEnd);
  const hit = recipientCache.get(key);
  if (hit !== undefined) return hit;
  const r = new Recipient(routeTag(data.subarray(routeStart, routeEnd)), hexSlice.call(data, deviceStart, deviceEnd), BRAND);
  recipientCache.set(key, r);
  return r;
}
