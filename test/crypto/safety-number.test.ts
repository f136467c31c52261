// Safety numbers (relay/crypto/safety-number.ts): known answers from an independent
// implementation on node:crypto (and two results pinned as literals), properties over
// random parties, every refusal (BAD_REQUEST, with no input material in the message),
// and the module's imports (it runs in browsers: no node: module).
import t from 'tap';
import type { Test } from 'tap';
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  SAFETY_NUMBER_ITERATIONS,
  SAFETY_NUMBER_MAX_KEYS,
  SAFETY_NUMBER_DIGITS,
  SAFETY_NUMBER_GROUP_DIGITS,
  SAFETY_NUMBER_MAX_TEXT,
  FINGERPRINT_BYTES,
  FINGERPRINT_DIGITS,
  fingerprint,
  fingerprintDigits,
  safetyNumber,
  formatSafetyNumber,
  parseSafetyNumber,
  type SafetyParty,
} from '../../relay/crypto/safety-number.ts';
import { ROUTE_BYTES } from '../../relay/wire.ts';
import { IDENTITY_KEY_BYTES } from '../../relay/crypto/sign.ts';
import { HushwireError } from '../../relay/errors.ts';
import { ROOT } from '../helpers/paths.ts';

const rand = (n: number) => new Uint8Array(nodeRandomBytes(n));
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const randInt = (n: number) => nodeRandomBytes(4).readUInt32BE(0) % n;

// ---- the independent reference: node:crypto (OpenSSL) SHA-512, Buffer.compare, BigInt ----
// Written from the specification in the brief, sharing no code with the module (not
// noble, not its helpers); the iteration count is the literal 5200, not the export.

function refFingerprint(route: Uint8Array, keys: readonly Uint8Array[]): Buffer {
  const r = Buffer.from(route);
  const sorted = keys.map((k) => Buffer.from(k)).sort(Buffer.compare);
  const seed = createHash('sha512');
  seed.update(Buffer.from('hushwire safety number v1', 'utf8'));
  seed.update(Buffer.from([0]));
  seed.update(r);
  seed.update(Buffer.from([sorted.length]));
  for (const k of sorted) seed.update(k);
  let h = seed.digest();
  for (let i = 0; i < 5200; i++) h = createHash('sha512').update(h).update(r).digest();
  return h;
}

function refDigits(fp: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const chunk = BigInt('0x' + Buffer.from(fp.subarray(5 * i, 5 * i + 5)).toString('hex'));
    s += (chunk % 100000n).toString().padStart(5, '0');
  }
  return s;
}

function refSafetyNumber(a: SafetyParty, b: SafetyParty): string {
  return [refDigits(refFingerprint(a.route, a.identityKeys)), refDigits(refFingerprint(b.route, b.identityKeys))].sort().join('');
}

// ---- fixed inputs ----

const ROUTE_A = fromHex('00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210');
const ROUTE_B = fromHex('a5a5a5a5c3c3c3c30f0f0f0f96969696deadbeefcafebabe0badf00d8badf00d');
const ROUTE_C = fromHex('0000000000000000000000000000000000000000000000000000000000000001');
const KEY_1 = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
// listed out of order on purpose (the second sorts first)
const KEYS_3 = [
  fromHex('fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025'),
  fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'),
  fromHex('8d2a3b1f9c0e7d6b5a4938271605f4e3d2c1b0a99887766554433221100ffeed'),
];
/** 64 distinct keys: key i has byte 0 = i, byte j = (i * 29 + j * 101) mod 256 after it. */
const KEYS_64 = Array.from({ length: 64 }, (_, i) => {
  const k = new Uint8Array(32);
  k[0] = i;
  for (let j = 1; j < 32; j++) k[j] = (i * 29 + j * 101) & 0xff;
  return k;
});

const P1: SafetyParty = { route: ROUTE_A, identityKeys: [KEY_1] };
const P3: SafetyParty = { route: ROUTE_B, identityKeys: KEYS_3 };
const P64: SafetyParty = { route: ROUTE_C, identityKeys: [...KEYS_64].reverse() };

// Pinned literally. Produced once (2026-12-06) by running refSafetyNumber above (the
// node:crypto reference, not the module) on these inputs in a scratch script and pasting
// its output here; a third implementation (Python's hashlib, same specification) printed
// the same two strings, and so does the module. If the module or the reference changes
// the construction, these fail.
const PINNED_P1_P3 = '126572407349996613390357781124357657328741544658752927747070';
const PINNED_P64_P1 = '357657328741544658752927747070817253254660695602806441580540';

t.test('constants: the lengths the protocol uses, and the iteration count', async (t) => {
  t.equal(SAFETY_NUMBER_ITERATIONS, 5200);
  t.equal(SAFETY_NUMBER_MAX_KEYS, 64);
  t.equal(FINGERPRINT_BYTES, 64);
  t.equal(FINGERPRINT_DIGITS, 30);
  t.equal(SAFETY_NUMBER_DIGITS, 60);
  t.equal(SAFETY_NUMBER_GROUP_DIGITS, 5);
  // the module keeps its own copies of these lengths (to stay small); they must agree
  t.equal(ROUTE_BYTES, 32);
  t.equal(IDENTITY_KEY_BYTES, 32);
  t.doesNotThrow(() => fingerprint(rand(ROUTE_BYTES), [rand(IDENTITY_KEY_BYTES)]));
  t.throws(() => fingerprint(rand(ROUTE_BYTES + 1), [rand(IDENTITY_KEY_BYTES)]), { code: 'BAD_REQUEST' });
  t.throws(() => fingerprint(rand(ROUTE_BYTES), [rand(IDENTITY_KEY_BYTES - 1)]), { code: 'BAD_REQUEST' });
});

t.test('known answers: the module agrees with the node:crypto reference (1, 3 and 64 keys)', async (t) => {
  for (const [name, p] of [['1 key', P1], ['3 keys', P3], ['64 keys', P64]] as const) {
    const fp = fingerprint(p.route, p.identityKeys);
    t.equal(fp.length, 64, `${name}: 64 bytes`);
    t.equal(hex(fp), refFingerprint(p.route, p.identityKeys).toString('hex'), `${name}: fingerprint`);
    t.equal(fingerprintDigits(fp), refDigits(fp), `${name}: digits`);
  }
  t.equal(safetyNumber(P1, P3), refSafetyNumber(P1, P3), 'P1, P3');
  t.equal(safetyNumber(P64, P1), refSafetyNumber(P64, P1), 'P64, P1');
  t.equal(safetyNumber(P3, P64), refSafetyNumber(P3, P64), 'P3, P64');
});

t.test('known answers: pinned literals', async (t) => {
  t.equal(safetyNumber(P1, P3), PINNED_P1_P3);
  t.equal(safetyNumber(P3, P1), PINNED_P1_P3);
  t.equal(safetyNumber(P64, P1), PINNED_P64_P1);
  t.equal(refSafetyNumber(P1, P3), PINNED_P1_P3, 'and the reference still gives them');
  t.equal(refSafetyNumber(P64, P1), PINNED_P64_P1);
  t.same(formatSafetyNumber(PINNED_P1_P3), PINNED_P1_P3.match(/.{5}/g));
});

t.test('fingerprintDigits: 40-bit big-endian chunks mod 100000, zero-padded; bytes 30.. unused', async (t) => {
  t.equal(fingerprintDigits(new Uint8Array(64)), '0'.repeat(30), 'all zero');
  // 2^40 - 1 = 1099511627775, mod 100000 = 27775
  t.equal(fingerprintDigits(new Uint8Array(64).fill(0xff)), '27775'.repeat(6), 'all 0xff');
  const fp = new Uint8Array(64);
  fp.set([0, 0, 0, 0x27, 0x10], 0); // 10000
  fp.set([0, 0, 0, 0, 7], 5); // 7
  fp.set([0, 0, 0x01, 0x86, 0xa0], 10); // 100000 -> 0
  fp.set([0, 0, 0x01, 0x86, 0xa1], 15); // 100001 -> 1
  fp.set([0x80, 0, 0, 0, 0], 20); // 2^39 = 549755813888 -> 13888
  fp.set([0, 0, 0, 0x01, 0x00], 25); // 256
  t.equal(fingerprintDigits(fp), '10000' + '00007' + '00000' + '00001' + '13888' + '00256');
  const tail = fp.slice();
  tail.fill(0xab, 30);
  t.equal(fingerprintDigits(tail), fingerprintDigits(fp), 'bytes 30..63 do not count');
  for (let i = 0; i < 1000; i++) {
    const r = rand(64);
    const got = fingerprintDigits(r);
    if (got !== refDigits(r)) t.fail(`random case ${i}: differs from the BigInt reference`);
    if (!/^[0-9]{30}$/.test(got)) t.fail(`random case ${i}: not 30 digits`);
  }
  t.pass('1000 random fingerprints agree with the BigInt reference');
});

const party = (nKeys?: number): SafetyParty => ({
  route: rand(32),
  identityKeys: Array.from({ length: nKeys ?? 1 + randInt(5) }, () => rand(32)),
});

function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// Each fingerprint is 5201 SHA-512 calls (~15 ms here), so the case counts below are
// chosen to keep this file near 20 s: 220 random parties in all.
t.test('properties: symmetric, 60 digits, made of the two parties\' digits', async (t) => {
  const N = 60;
  for (let i = 0; i < N; i++) {
    const a = party();
    const b = party(i % 10 === 0 ? 64 : undefined);
    const ab = safetyNumber(a, b);
    if (ab !== safetyNumber(b, a)) t.fail(`case ${i}: (a, b) != (b, a)`);
    if (!/^[0-9]{60}$/.test(ab)) t.fail(`case ${i}: not 60 digits`);
    const da = fingerprintDigits(fingerprint(a.route, a.identityKeys));
    const db = fingerprintDigits(fingerprint(b.route, b.identityKeys));
    if (ab !== [da, db].sort().join('')) t.fail(`case ${i}: not the sorted halves`);
  }
  t.pass(`${N} random pairs`);
});

t.test('properties: the order of keys does not matter; the caller\'s array and keys are left alone', async (t) => {
  const N = 100;
  for (let i = 0; i < N; i++) {
    const p = party(2 + randInt(i % 10 === 0 ? 63 : 6));
    const before = p.identityKeys.map(hex);
    const fp = hex(fingerprint(p.route, p.identityKeys));
    if (hex(fingerprint(p.route, shuffled(p.identityKeys))) !== fp) t.fail(`case ${i}: shuffled keys differ`);
    if (p.identityKeys.map(hex).join() !== before.join()) t.fail(`case ${i}: caller's array or keys changed`);
  }
  t.pass(`${N} random key sets`);
  // views into larger buffers and Buffers are read at their offset
  const big = rand(200);
  const p = { route: big.subarray(3, 35), identityKeys: [big.subarray(40, 72), big.subarray(100, 132)] };
  const copies = { route: p.route.slice(), identityKeys: p.identityKeys.map((k) => k.slice()) };
  t.equal(hex(fingerprint(p.route, p.identityKeys)), hex(fingerprint(copies.route, copies.identityKeys)), 'views');
  t.equal(hex(fingerprint(Buffer.from(copies.route), copies.identityKeys.map((k) => Buffer.from(k)))), hex(fingerprint(copies.route, copies.identityKeys)), 'Buffers');
});

t.test('properties: any change to the keys or the route changes the fingerprint and the number', async (t) => {
  const N = 60;
  let n = 0;
  let numbers = 0;
  for (let i = 0; i < N; i++) {
    const a = party();
    const b = party();
    const digits = fingerprintDigits(fingerprint(a.route, a.identityKeys));
    // Every change must change a's 30 digits (so the number, which is made of them: the
    // symmetric property above). One case in four also checks safetyNumber itself.
    const withNumber = i % 4 === 0;
    const number = withNumber ? safetyNumber(a, b) : '';
    const bDigits = withNumber ? fingerprintDigits(fingerprint(b.route, b.identityKeys)) : '';
    const changed = (what: string, p: SafetyParty) => {
      n++;
      if (fingerprintDigits(fingerprint(p.route, p.identityKeys)) === digits) t.fail(`case ${i}: ${what}: same digits`);
      if (!withNumber) return;
      numbers++;
      // the number changes, and only the changed party's half does
      const other = safetyNumber(p, b);
      if (other === number) t.fail(`case ${i}: ${what}: same safety number`);
      if (!other.startsWith(bDigits) && !other.endsWith(bDigits)) t.fail(`case ${i}: ${what}: b's half changed`);
    };
    // one bit of one key
    const k = randInt(a.identityKeys.length);
    const flipped = a.identityKeys.map((x) => x.slice());
    flipped[k]![randInt(32)] ^= 1 << randInt(8);
    changed('key bit flip', { route: a.route, identityKeys: flipped });
    // one bit of the route
    const route = a.route.slice();
    route[randInt(32)] ^= 1 << randInt(8);
    changed('route bit flip', { route, identityKeys: a.identityKeys });
    // a key added
    changed('key added', { route: a.route, identityKeys: [...a.identityKeys, rand(32)] });
    // a key removed
    if (a.identityKeys.length > 1) {
      changed('key removed', { route: a.route, identityKeys: a.identityKeys.filter((_, j) => j !== k) });
    }
    // the same keys, another party's route
    changed('keys under another route', { route: b.route.map((x) => x ^ 0x5a), identityKeys: a.identityKeys });
  }
  t.pass(`${n} changes in ${N} random parties (${numbers} of them also as safety numbers)`);
  // every single bit of a fixed key and route, on the fingerprint
  const fp = hex(fingerprint(ROUTE_A, KEYS_3));
  const seen = new Set([fp]);
  for (let bit = 0; bit < 256; bit += 17) {
    const keys = KEYS_3.map((x) => x.slice());
    keys[bit % 3]![bit >> 3] ^= 1 << (bit & 7);
    seen.add(hex(fingerprint(ROUTE_A, keys)));
    const route = ROUTE_A.slice();
    route[bit >> 3] ^= 1 << (bit & 7);
    seen.add(hex(fingerprint(route, KEYS_3)));
  }
  t.equal(seen.size, 1 + 2 * 16, 'every flipped bit gives its own fingerprint');
});

t.test('formatSafetyNumber and parseSafetyNumber round-trip, with any separators', async (t) => {
  const number = safetyNumber(P1, P3);
  const groups = formatSafetyNumber(number);
  t.equal(groups.length, 12);
  t.ok(groups.every((g) => /^[0-9]{5}$/.test(g)));
  t.equal(groups.join(''), number);
  t.equal(parseSafetyNumber(groups.join(' ')), number, 'spaces');
  t.equal(parseSafetyNumber(groups.join('-')), number, 'dashes');
  t.equal(parseSafetyNumber(groups.join('.')), number, 'dots');
  t.equal(parseSafetyNumber(groups.slice(0, 6).join(' ') + '\n' + groups.slice(6).join(' ') + '\n'), number, 'two lines');
  t.equal(parseSafetyNumber(groups.slice(0, 4).join(' ') + '\r\n' + groups.slice(4, 8).join(' ') + '\r\n' + groups.slice(8).join(' ')), number, 'CRLF, three lines');
  t.equal(parseSafetyNumber('\t ' + groups.join('\u00a0') + ' \n'), number, 'no-break spaces, tabs, around it');
  t.equal(parseSafetyNumber(number), number, 'bare digits');
  const seps = [' ', '  ', '-', '.', '\n', '\r\n', '\t', ' - ', '\u00a0', '\u2009', '\u3000', ''];
  for (let i = 0; i < 500; i++) {
    const digits = Array.from({ length: 60 }, () => String(randInt(10))).join('');
    const g = formatSafetyNumber(digits);
    if (g.join('') !== digits) t.fail(`case ${i}: format lost digits`);
    let text = randInt(3) === 0 ? seps[randInt(seps.length)]! : '';
    for (const [j, group] of g.entries()) {
      // split some groups inside too: people type in any rhythm
      const cut = randInt(6);
      text += cut > 0 && cut < 5 && randInt(4) === 0 ? group.slice(0, cut) + seps[randInt(seps.length)] + group.slice(cut) : group;
      if (j < 11) text += seps[randInt(seps.length)];
    }
    text += randInt(3) === 0 ? seps[randInt(seps.length)]! : '';
    if (parseSafetyNumber(text) !== digits) t.fail(`case ${i}: parse of formatted text differs`);
  }
  t.pass('500 random round-trips');
});

// ---- refusals ----

/** Every byte string and text the refusals below are given: no message may contain any
 *  of them (nor a prefix of their hex long enough to identify them). */
const material: string[] = [];
const mat = <T extends Uint8Array>(b: T): T => {
  material.push(hex(b).slice(0, 8), hex(b));
  return b;
};

function refused(t: Test, name: string, fn: () => unknown, texts: string[] = []): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof HushwireError)) {
    t.fail(`${name}: did not throw a HushwireError (${err === undefined ? 'no throw' : String(err)})`);
    return;
  }
  t.equal(err.code, 'BAD_REQUEST', `${name}: BAD_REQUEST`);
  const msg = err.message.toLowerCase();
  const leaked = [...material, ...texts.filter((s) => s.length >= 4)].filter((s) => s && msg.includes(s.toLowerCase()));
  t.same(leaked, [], `${name}: message has no input material (${err.message})`);
  t.notMatch(err.message, /[0-9]{5}|[0-9a-f]{8}/i, `${name}: message has no digit or hex run`);
}
// the exported functions, callable with wrong types
type Loose = (...args: unknown[]) => unknown;

t.test('fingerprint refuses wrong routes and key lists (BAD_REQUEST, no material in the message)', async (t) => {
  const fp = fingerprint as Loose;
  const route = mat(rand(32));
  const k1 = mat(rand(32));
  const k2 = mat(rand(32));
  const badRoutes: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 42], ['zero', 0], ['string', 'route'],
    ['hex string', hex(route)], ['plain array', Array.from(route)], ['31 bytes', mat(rand(31))],
    ['33 bytes', mat(rand(33))], ['0 bytes', new Uint8Array(0)], ['Uint16Array', new Uint16Array(16)],
    ['ArrayBuffer', rand(32).buffer], ['object', { length: 32 }],
  ];
  for (const [name, r] of badRoutes) refused(t, `route ${name}`, () => fp(r, [k1]));
  const badKeys: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 1], ['string', 'keys'], ['hex string', hex(k1)],
    ['one key not in an array', k1], ['object', { 0: k1, length: 1 }],
    ['no keys', []], ['65 keys', Array.from({ length: 65 }, () => mat(rand(32)))],
    ['[undefined]', [undefined]], ['[null]', [null]], ['[number]', [42]], ['[hex string]', [hex(k1)]],
    ['[plain array]', [Array.from(k1)]], ['[31 bytes]', [k1, mat(rand(31))]], ['[33 bytes]', [mat(rand(33))]],
    ['[0 bytes]', [new Uint8Array(0)]], ['[nested]', [[k1]]], ['sparse', new Array(2)],
    ['one bad among good', [k1, k2, 'k3']], ['same key twice', [k1, k2, k1]], ['equal keys, other objects', [k1, k1.slice()]],
    ['64 keys with a repeat', [...Array.from({ length: 63 }, () => mat(rand(32))), k2, k2].slice(1)],
  ];
  for (const [name, keys] of badKeys) refused(t, `keys ${name}`, () => fp(route, keys));
  t.equal(fingerprint(route, Array.from({ length: 64 }, () => rand(32))).length, 64, '64 keys are fine');
  t.equal(fingerprint(route, [k1]).length, 64, 'one key is fine');
});

t.test('fingerprintDigits refuses anything but 64 bytes', async (t) => {
  const f = fingerprintDigits as Loose;
  const cases: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 0], ['string', 'fp'], ['hex string', hex(mat(rand(64)))],
    ['plain array', Array.from(mat(rand(64)))], ['63 bytes', mat(rand(63))], ['65 bytes', mat(rand(65))],
    ['32 bytes', mat(rand(32))], ['0 bytes', new Uint8Array(0)], ['Uint32Array', new Uint32Array(16)],
  ];
  for (const [name, v] of cases) refused(t, `fingerprintDigits ${name}`, () => f(v));
});

t.test('safetyNumber refuses bad parties and a party paired with itself', async (t) => {
  const s = safetyNumber as Loose;
  const a = { route: mat(rand(32)), identityKeys: [mat(rand(32))] };
  const b = { route: mat(rand(32)), identityKeys: [mat(rand(32)), mat(rand(32))] };
  const badParties: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 5], ['string', 'party'], ['array', [a.route, a.identityKeys]],
    ['empty object', {}], ['no keys', { route: a.route }], ['no route', { identityKeys: a.identityKeys }],
    ['route short', { route: mat(rand(31)), identityKeys: a.identityKeys }],
    ['route a string', { route: hex(a.route), identityKeys: a.identityKeys }],
    ['keys not an array', { route: a.route, identityKeys: a.identityKeys[0] }],
    ['0 keys', { route: a.route, identityKeys: [] }],
    ['65 keys', { route: a.route, identityKeys: Array.from({ length: 65 }, () => mat(rand(32))) }],
    ['duplicate keys', { route: a.route, identityKeys: [a.identityKeys[0], a.identityKeys[0]!.slice()] }],
    ['key short', { route: a.route, identityKeys: [mat(rand(16))] }],
    ['key null', { route: a.route, identityKeys: [null] }],
  ];
  for (const [name, p] of badParties) {
    refused(t, `a ${name}`, () => s(p, b));
    refused(t, `b ${name}`, () => s(b, p));
  }
  refused(t, 'both undefined', () => s(undefined, undefined));
  refused(t, 'one argument', () => s(a));
  refused(t, 'same party twice', () => s(a, a));
  refused(t, 'same route, other keys', () => s(a, { route: a.route, identityKeys: b.identityKeys }));
  refused(t, 'same route by value, other objects', () => s(a, { route: a.route.slice(), identityKeys: b.identityKeys }));
  refused(t, 'same route as a Buffer', () => s({ route: Buffer.from(b.route), identityKeys: a.identityKeys }, b));
  t.match(safetyNumber(a, b), /^[0-9]{60}$/, 'and the two good parties give a number');
});

t.test('formatSafetyNumber refuses anything but exactly 60 ASCII digits', async (t) => {
  const f = formatSafetyNumber as Loose;
  const digits = safetyNumber(P1, P3);
  const cases: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 123456], ['big number', Number(digits.slice(0, 15))],
    ['bigint', BigInt(digits)], ['array of groups', formatSafetyNumber(digits)], ['String object', new String(digits)],
    ['59 digits', digits.slice(1)], ['61 digits', digits + '1'], ['empty', ''],
    ['a letter', digits.slice(0, 59) + 'a'], ['spaced', formatSafetyNumber(digits).join(' ')],
    ['trailing newline', digits + '\n'], ['leading space', ' ' + digits],
    ['full-width digits', digits.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))],
    ['Arabic-Indic digits', digits.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)))],
  ];
  for (const [name, v] of cases) refused(t, `format ${name}`, () => f(v), [digits, typeof v === 'string' ? v : '']);
});

t.test('parseSafetyNumber refuses letters, other characters, wrong counts and non-strings without quoting them', async (t) => {
  const p = parseSafetyNumber as Loose;
  const digits = safetyNumber(P64, P1);
  const spaced = formatSafetyNumber(digits).join(' ');
  const cases: [string, unknown][] = [
    ['undefined', undefined], ['null', null], ['number', 12345], ['bigint', BigInt(digits)],
    ['array of groups', formatSafetyNumber(digits)], ['String object', new String(digits)], ['object', { digits }],
    ['letters', spaced.slice(0, 20) + 'abcde' + spaced.slice(25)], ['a letter o for 0', spaced.replace(/0/, 'o')],
    ['60 digits and a letter', spaced + ' x'], ['60 digits and a word', 'safety number: ' + spaced],
    ['hex-looking', 'deadbeef' + digits.slice(8)], ['comma', formatSafetyNumber(digits).join(',')],
    ['slash', formatSafetyNumber(digits).join('/')], ['underscore', formatSafetyNumber(digits).join('_')],
    ['plus', '+' + digits], ['59 digits', spaced.slice(1)], ['61 digits', spaced + '7'], ['120 digits', digits + digits],
    ['empty', ''], ['only separators', ' - . \n '], ['a 5-digit group only', '12345'],
    ['full-width digits', digits.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))],
    ['Arabic-Indic digits', digits.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)))],
    ['too long (separators)', ' '.repeat(SAFETY_NUMBER_MAX_TEXT) + digits],
    ['too long (digits)', '1'.repeat(100000)], ['emoji', spaced + ' \u{1f600}'], ['NUL', digits + '\u0000'],
  ];
  for (const [name, v] of cases) {
    const texts = typeof v === 'string' ? [v, digits, ...formatSafetyNumber(digits)] : [digits, ...formatSafetyNumber(digits)];
    refused(t, `parse ${name}`, () => p(v), texts);
  }
  // and the text right at the bound is still read
  const atBound = digits + ' '.repeat(SAFETY_NUMBER_MAX_TEXT - 60);
  t.equal(parseSafetyNumber(atBound), digits, `${SAFETY_NUMBER_MAX_TEXT} characters are read`);
});

// ---- portability ----

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The import specifiers of a source file: static, side-effect, re-export and dynamic. */
function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:^|[\n;])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of source.matchAll(/(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of source.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  return specs;
}

t.test('the module imports no node: module (it runs in browsers), nor do the repository files it imports', async (t) => {
  const entry = join(ROOT, 'relay/crypto/safety-number.ts');
  const text = readFileSync(entry, 'utf8');
  t.notMatch(text, /from\s+['"]node:/, 'no `from \'node:` import in safety-number.ts');
  t.notMatch(text, /\brequire\s*\(/, 'no require()');
  // the whole local import graph: only @noble/hashes outside the repository, no builtin
  const seen = new Set<string>();
  const external: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) walk(join(dirname(file), spec));
      else external.push(spec);
    }
  };
  walk(entry);
  t.ok(importsOf(text).length >= 3, 'the import scan finds the module\'s imports');
  t.same([...seen].map((f) => f.slice(ROOT.length + 1)).sort(), ['relay/crypto/bytes.ts', 'relay/crypto/safety-number.ts', 'relay/errors.ts']);
  t.same(external.filter((s) => BUILTINS.has(s) || BUILTINS.has(s.split('/')[0]!) || s.startsWith('node:')), [], 'no Node builtin');
  t.same(external.filter((s) => !s.startsWith('@noble/hashes/')), [], 'nothing outside the repository but @noble/hashes');
  // the scan itself can fail: a file that does import a builtin is caught
  t.same(importsOf("import t from 'tap';\nimport { readFileSync } from 'node:fs';\nconst m = await import('node:os');"), ['tap', 'node:fs', 'node:os']);
});
