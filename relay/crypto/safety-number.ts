// Safety numbers: a 60-digit number two users compare out of band (read aloud, or
// scanned) to learn whether the identity keys each one's SDK pinned for the other are
// the keys the other really holds. A directory that handed out substituted identity keys
// for a contact gives the two users different numbers. This module is only the
// construction: pure functions over bytes and strings, no I/O, no state. The key book
// and the client API that use it live in client/.
//
// Portable: it runs in the browser SDK (client/portable.ts), so it imports @noble/hashes
// (pure JS) and this repository's errors.ts and crypto/bytes.ts (which import nothing
// else), and no `node:` module (test/crypto/safety-number.test.ts reads the sources to
// check).
//
// ---- The construction (version 1) ----
//
//   route        the party's 32-byte route id (ROUTE_BYTES in relay/wire.ts)
//   identityKeys 1 to 64 distinct 32-byte Ed25519 identity public keys, one per device
//                (IDENTITY_KEY_BYTES in relay/crypto/sign.ts)
//
//   fingerprint(route, identityKeys):
//     keys = identityKeys sorted bytewise ascending
//     seed = utf8("hushwire safety number v1") || 0x00 || route || u8(keys.length)
//            || keys[0] || keys[1] || ... || keys[n-1]
//     h    = SHA-512(seed)
//     repeat 5200 times: h = SHA-512(h || route)
//     return h                                             (64 bytes)
//
//   fingerprintDigits(fp): for i = 0..5, the bytes fp[5i .. 5i+5) read as a big-endian
//     unsigned 40-bit integer, mod 100000, written as 5 digits with leading zeros; the
//     six groups concatenated: 30 digits (fp[30..64) is not used)
//
//   safetyNumber(a, b): the two parties' 30-digit strings, sorted as strings and
//     concatenated: 60 digits. Shown as 12 groups of 5 (formatSafetyNumber).
//
// Why each choice:
// - Keys sorted bytewise: the number is a function of the SET of a party's keys, so the
//   order a directory lists devices in (or a device re-registering and moving in that
//   list) never changes it; only a key added, removed or replaced does.
// - Distinct keys, 1 to 64: a repeated key would let two listings of the same set give
//   different numbers (and means a broken directory answer); an empty set has nothing to
//   verify; 64 bounds the work and makes the count fit one byte.
// - The label "hushwire safety number v1" || 0x00: domain separation. The seed starts
//   with bytes no other hashed or signed input in Hushwire starts with (the labels of
//   relay/crypto/sign.ts and seal.ts differ from it before their 0x00), so a
//   fingerprint can never be computed from an input made for another purpose; "v1"
//   leaves room for a later construction with its own label.
// - The route in the seed: the number is bound to who the keys belong to, so a directory
//   cannot present one contact's genuine keys as another contact's.
// - u8(keys.length) then fixed-length keys, after a fixed-length route: the seed is an
//   unambiguous encoding, two different (route, key set) pairs never give the same seed.
// - 5200 iterations of SHA-512: an attacker who controls the directory wants a key set
//   (keys whose secrets it holds) whose 30 digits match the victim's. The 30 digits carry
//   log2(10^30) ~ 99.7 bits, so that is a ~2^99.7-try search; each try costs 5201
//   SHA-512 calls (~2^12.3 more), at a cost to honest users of two fingerprints per
//   number shown (the same count, and the same reasoning, as Signal's numeric
//   fingerprints).
// - The route in every iteration (h || route): a per-party salt, so no work done against
//   one user's fingerprint helps against another's (no precomputed table covers every
//   route at once). h || route is 96 bytes: one SHA-512 block per iteration.
// - 5-byte chunks mod 100000: a 40-bit value reduced mod 10^5 is biased by less than
//   10^5 / 2^40 ~ 1e-7 relative, nothing a search can use; decimal digits are easy to
//   read aloud and compare, and 5-digit groups are easy to keep in mind.
// - Sorted concatenation of the two halves: both users compute the same 60 digits
//   whichever of them is "a", with no need to agree on roles. Each user's own half is
//   one of the two, so a mismatch shows in the half of the party whose keys differ.
// - Refusing a == b (same route): a safety number with oneself verifies nothing.
//
// Errors: every refusal is a HushwireError BAD_REQUEST whose message names the argument
// and what is wrong with it (type, length, count, a repeat), and never contains a key,
// a route, a fingerprint or a digit of the input (relay/errors.ts).
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../errors.ts';
import { assertArray, assertBytes, label0 } from './bytes.ts';

/** Route id length (ROUTE_BYTES in relay/wire.ts; not imported so this module stays
 *  free of the protobuf code; the tests check the two agree). */
const ROUTE_LEN = 32;
/** Ed25519 public key length (IDENTITY_KEY_BYTES in relay/crypto/sign.ts; likewise). */
const KEY_LEN = 32;

/** SHA-512 iterations after the seed hash (see the header). */
export const SAFETY_NUMBER_ITERATIONS = 5200;
/** The most identity keys (devices) one party may have in a fingerprint. */
export const SAFETY_NUMBER_MAX_KEYS = 64;
/** fingerprint()'s output length: one SHA-512 digest. */
export const FINGERPRINT_BYTES = 64;
/** Digits per party (fingerprintDigits). */
export const FINGERPRINT_DIGITS = 30;
/** Digits of a safety number (two parties). */
export const SAFETY_NUMBER_DIGITS = 60;
/** Digits per displayed group (formatSafetyNumber). */
export const SAFETY_NUMBER_GROUP_DIGITS = 5;
/** The longest text parseSafetyNumber reads: 60 digits with generous separators. A
 *  longer string is refused before it is scanned. */
export const SAFETY_NUMBER_MAX_TEXT = 1024;

const SEED_LABEL = label0('hushwire safety number v1');

/** One party to a safety number: its route id and its devices' identity public keys. */
export type SafetyParty = { route: Uint8Array; identityKeys: readonly Uint8Array[] };

function bad(message: string): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, message);
}

/** Bytewise (lexicographic) order; keys here all have the same length. */
function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Checks one party's inputs; returns its keys sorted ascending (a new array; the
 *  caller's array is not reordered). `who` prefixes messages ('' or 'party a ').
 *  The array is copied once and only the copy is checked and used. */
function checkParty(route: unknown, identityKeys: unknown, who: string): Uint8Array[] {
  assertBytes(route, `${who}route`, ROUTE_LEN);
  assertArray(identityKeys, `${who}identity keys`);
  const keys = identityKeys.slice();
  if (keys.length === 0) throw bad(`${who}identity keys must not be empty`);
  if (keys.length > SAFETY_NUMBER_MAX_KEYS) {
    throw bad(`${who}identity keys must be at most ${SAFETY_NUMBER_MAX_KEYS} keys`);
  }
  for (let i = 0; i < keys.length; i++) assertBytes(keys[i], `${who}identity key ${i}`, KEY_LEN);
  const sorted = (keys as Uint8Array[]).sort(compareBytes);
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1]!, sorted[i]!) === 0) throw bad(`${who}identity keys must not repeat a key`);
  }
  return sorted;
}

/** The construction proper, on checked inputs (keys already sorted). */
function fingerprintChecked(route: Uint8Array, sortedKeys: Uint8Array[]): Uint8Array {
  let h = sha512(concatBytes(SEED_LABEL, route, Uint8Array.of(sortedKeys.length), ...sortedKeys));
  // h || route in one reused buffer: the route half is written once.
  const buf = new Uint8Array(FINGERPRINT_BYTES + ROUTE_LEN);
  buf.set(route, FINGERPRINT_BYTES);
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) {
    buf.set(h, 0);
    h = sha512(buf);
  }
  return h;
}

/** A party's 64-byte fingerprint: the construction in this file's header. The key order
 *  does not matter; the caller's array is left as it is. */
export function fingerprint(route: Uint8Array, identityKeys: readonly Uint8Array[]): Uint8Array {
  const keys = checkParty(route, identityKeys, '');
  return fingerprintChecked(route, keys);
}

/** The 30 decimal digits of a fingerprint (six groups of 5 from its first 30 bytes). */
export function fingerprintDigits(fp: Uint8Array): string {
  assertBytes(fp, 'fingerprint', FINGERPRINT_BYTES);
  let out = '';
  for (let i = 0; i < FINGERPRINT_DIGITS / 5; i++) {
    let v = 0;
    // 40 bits: exact in a double (below 2^53)
    for (let j = 0; j < 5; j++) v = v * 256 + fp[5 * i + j]!;
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

function partyFields(p: unknown, who: string): { route: unknown; identityKeys: unknown } {
  if (typeof p !== 'object' || p === null) throw bad(`${who}must be an object with route and identityKeys`);
  const { route, identityKeys } = p as { route?: unknown; identityKeys?: unknown };
  return { route, identityKeys };
}

/** The 60-digit safety number of two parties: the same whichever is `a`. Refuses two
 *  parties with the same route. */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  const pa = partyFields(a, 'party a ');
  const pb = partyFields(b, 'party b ');
  const ka = checkParty(pa.route, pa.identityKeys, 'party a ');
  const kb = checkParty(pb.route, pb.identityKeys, 'party b ');
  const ra = pa.route as Uint8Array;
  const rb = pb.route as Uint8Array;
  if (compareBytes(ra, rb) === 0) throw bad('the two parties must have different routes');
  const da = fingerprintDigits(fingerprintChecked(ra, ka));
  const db = fingerprintDigits(fingerprintChecked(rb, kb));
  return da < db ? da + db : db + da;
}

const SIXTY_DIGITS = /^[0-9]{60}$/;

/** 12 groups of 5 digits, for display. */
export function formatSafetyNumber(digits: string): string[] {
  if (typeof digits !== 'string') throw bad('safety number must be a string');
  if (!SIXTY_DIGITS.test(digits)) throw bad(`safety number must be exactly ${SAFETY_NUMBER_DIGITS} digits 0-9`);
  const groups: string[] = [];
  for (let i = 0; i < SAFETY_NUMBER_DIGITS; i += SAFETY_NUMBER_GROUP_DIGITS) {
    groups.push(digits.slice(i, i + SAFETY_NUMBER_GROUP_DIGITS));
  }
  return groups;
}

// Digits 0-9 (ASCII only), any whitespace (\s: spaces, tabs, newlines, no-break and
// other Unicode spaces, as a paste may bring), '-' and '.'.
const ALLOWED = /^[0-9\s.-]*$/;

/** What a user typed or pasted: digits with any whitespace, '-' or '.' between or around
 *  them. Returns the 60 digits. Messages say what is wrong, never what was typed. */
export function parseSafetyNumber(text: string): string {
  if (typeof text !== 'string') throw bad('safety number must be a string');
  if (text.length > SAFETY_NUMBER_MAX_TEXT) {
    throw bad(`safety number text must be at most ${SAFETY_NUMBER_MAX_TEXT} characters`);
  }
  if (!ALLOWED.test(text)) {
    throw bad('safety number may contain only the digits 0-9, spaces, line breaks, \'-\' and \'.\'');
  }
  const digits = text.replace(/[^0-9]/g, '');
  if (digits.length !== SAFETY_NUMBER_DIGITS) {
    throw bad(`safety number must have ${SAFETY_NUMBER_DIGITS} digits, found ${digits.length}`);
  }
  return digits;
}
