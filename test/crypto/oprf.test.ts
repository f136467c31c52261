// RFC 9497 A.1.1 (ristretto255-SHA512) OPRF and VOPRF vectors, then the Hushwire layer:
// route derivation, server/handset agreement, proof failures, limits, input checks.
import t, { type Test as TapTest } from 'tap';
import { readFileSync } from 'node:fs';
import { ristretto255, ristretto255_oprf } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  deriveServerKey,
  generateServerKey,
  numberInput,
  blindNumbers,
  evaluateBlinded,
  finalizeNumbers,
  routeFromOutput,
  serverRouteForNumber,
  routeForNumber,
  routesForNumbers,
  MAX_EVALUATE_BATCH,
  _deriveKeyPair,
  _blindInputs,
  _evaluateBlindedWith,
  _finalizeInputs,
  type Evaluation,
} from '../../relay/crypto/oprf.ts';

interface Test {
  vector: number;
  batch: number;
  data: {
    Input: string[];
    Blind: string[];
    BlindedElement: string[];
    EvaluationElement: string[];
    Proof?: string;
    ProofRandomScalar?: string;
    Output: string[];
  };
}
interface Mode {
  mode: string;
  common: Record<string, string>;
  tests: Test[];
}
const file = JSON.parse(
  readFileSync(new URL('../fixtures/vectors/rfc9497-ristretto255-sha512.json', import.meta.url), 'utf8'),
) as { suite: string; modes: Mode[] };
const h = hexToBytes;
const hex = bytesToHex;
const modeOf = (name: string) => {
  const m = file.modes.find((x) => x.mode === name);
  if (!m) throw new Error(`no ${name} vectors`);
  return m;
};

// noble draws a scalar as 48 random bytes mapped to (x mod (n - 1)) + 1, little-endian.
// To make it draw a given scalar s, hand it s - 1 as 48 little-endian bytes. The rng
// replays the listed scalars in order and fails the test if asked for anything else.
function scalarRng(t: TapTest, scalarsHex: string[]) {
  const queue = [...scalarsHex];
  const rng = (n?: number) => {
    t.equal(n, 48, 'rng asked for 48 bytes');
    const s = queue.shift();
    if (s === undefined) throw new Error('rng called more often than the vector allows');
    return numberToBytesLE(bytesToNumberLE(h(s)) - 1n, 48);
  };
  return Object.assign(rng, { left: () => queue.length });
}

const AUTH_FAILED = { name: 'HushwireError', code: 'AUTH_FAILED', message: 'OPRF proof did not verify against the pinned key' };
const BAD_REQUEST = { name: 'HushwireError', code: 'BAD_REQUEST' };

t.test('vector file is RFC 9497 A.1.1 ristretto255-SHA512', async (t) => {
  t.equal(file.suite, 'ristretto255-SHA512');
  t.equal(modeOf('OPRF').tests.length, 2);
  t.equal(modeOf('VOPRF').tests.length, 3);
});

t.test('RFC 9497 A.1.1.1 OPRF mode (0x00)', async (t) => {
  const m = modeOf('OPRF');
  const oprf = ristretto255_oprf.oprf;
  const key = oprf.deriveKeyPair(h(m.common.Seed), h(m.common.KeyInfo));
  t.equal(hex(key.secretKey), m.common.skSm);
  for (const v of m.tests) {
    const d = v.data;
    const rng = scalarRng(t, d.Blind);
    const input = h(d.Input[0]);
    const { blind, blinded } = oprf.blind(input, rng);
    t.equal(hex(blind), d.Blind[0], `vector ${v.vector} blind`);
    t.equal(hex(blinded), d.BlindedElement[0], `vector ${v.vector} blinded element`);
    const evaluated = oprf.blindEvaluate(key.secretKey, blinded);
    t.equal(hex(evaluated), d.EvaluationElement[0], `vector ${v.vector} evaluation element`);
    t.equal(hex(oprf.finalize(input, blind, evaluated)), d.Output[0], `vector ${v.vector} output`);
  }
});

t.test('RFC 9497 A.1.1.2 VOPRF mode (0x01), through this module', async (t) => {
  const m = modeOf('VOPRF');
  const key = _deriveKeyPair(h(m.common.Seed), h(m.common.KeyInfo));
  t.equal(hex(key.secretKey), m.common.skSm);
  t.equal(hex(key.publicKey), m.common.pkSm);
  for (const v of m.tests) {
    const d = v.data;
    t.equal(d.Input.length, v.batch);
    const inputs = d.Input.map(h);
    const blindRng = scalarRng(t, d.Blind);
    const { blinds, blinded } = _blindInputs(inputs, blindRng);
    t.equal(blindRng.left(), 0, 'one blind per input');
    t.same(blinds.map(hex), d.Blind, `vector ${v.vector} blinds`);
    t.same(blinded.map(hex), d.BlindedElement, `vector ${v.vector} blinded elements`);
    const proofRng = scalarRng(t, [d.ProofRandomScalar!]);
    const { evaluated, proof } = _evaluateBlindedWith(key, blinded, proofRng);
    t.equal(proofRng.left(), 0, 'one proof nonce per batch');
    t.same(evaluated.map(hex), d.EvaluationElement, `vector ${v.vector} evaluation elements`);
    t.equal(hex(proof), d.Proof, `vector ${v.vector} proof`);
    const outputs = _finalizeInputs(inputs, blinds, blinded, evaluated, proof, key.publicKey);
    t.same(outputs.map(hex), d.Output, `vector ${v.vector} outputs`);
    // The same proof against a different pinned key must fail.
    t.throws(() => _finalizeInputs(inputs, blinds, blinded, evaluated, proof, generateServerKey().publicKey), AUTH_FAILED);
  }
});

t.test('deriveServerKey: hushwire key info, deterministic, matches a direct noble call', async (t) => {
  const seed = new Uint8Array(32).fill(7);
  const a = deriveServerKey(seed);
  const b = deriveServerKey(seed.slice());
  t.equal(hex(a.secretKey), hex(b.secretKey));
  t.equal(hex(a.publicKey), hex(b.publicKey));
  const direct = ristretto255_oprf.voprf.deriveKeyPair(seed, utf8ToBytes('hushwire oprf v1'));
  t.equal(hex(a.secretKey), hex(direct.secretKey));
  t.equal(hex(a.publicKey), hex(ristretto255.Point.BASE.multiply(bytesToNumberLE(a.secretKey)).toBytes()));
  // different key info (the RFC's 'test key') gives a different key
  t.not(hex(a.secretKey), hex(_deriveKeyPair(seed, utf8ToBytes('test key')).secretKey));
  t.not(hex(deriveServerKey(new Uint8Array(32).fill(8)).publicKey), hex(a.publicKey));
});

t.test('numberInput is the UTF-8 of the normalized number', async (t) => {
  t.equal(hex(numberInput('+14155550123')), hex(utf8ToBytes('+14155550123')));
  t.equal(hex(numberInput('+1 (415) 555-0123')), hex(utf8ToBytes('+14155550123')));
  t.throws(() => numberInput('14155550123'), { code: 'BAD_NUMBER' });
});

t.test('routeFromOutput is HKDF-SHA256(output, salt empty, "hushwire route v1", 32)', async (t) => {
  const out = new Uint8Array(64).map((_, i) => i);
  const want = hkdf(sha256, out, new Uint8Array(0), utf8ToBytes('hushwire route v1'), 32);
  t.equal(hex(routeFromOutput(out)), hex(want));
  // pinned bytes, so a change of label or salt cannot slip through
  t.equal(hex(routeFromOutput(out)), hex(hkdf(sha256, out, undefined, utf8ToBytes('hushwire route v1'), 32)));
  t.equal(routeFromOutput(out).length, 32);
});

t.test('route known answer (regression pin) and a blind-free cross-check', async (t) => {
  // Pinned output of this module for seed 01*32: a handset in another language must
  // reproduce these bytes. Not an independent vector: the pieces are proven above.
  const key = deriveServerKey(new Uint8Array(32).fill(1));
  t.equal(hex(key.secretKey), '060f53ac6f90c6e9d08ead590cf6042f1f832862e16c1fe68110968f7d64ff01');
  t.equal(hex(key.publicKey), '9aa1b1bd1f76f5d42f866ba9571ad8e15db11233cd2c903b2aab1bf0a4b1a521');
  const want = '7668ca406fd62e351b20f1929bc45c39cb7ff3c1602ed3ee24ffd768e300f12c';
  t.equal(hex(serverRouteForNumber(key, '+14155550123')), want);
  t.equal(hex(serverRouteForNumber(key, '+1 (415) 555-0123')), want, 'typed separators do not change the route');
  // noble's non-interactive VOPRF Evaluate (RFC 9497 §3.3.2) needs no blind at all; it is
  // present at run time though not in noble's types.
  const direct = (ristretto255_oprf.voprf as unknown as { evaluate(sk: Uint8Array, input: Uint8Array): Uint8Array }).evaluate;
  t.equal(hex(routeFromOutput(direct(key.secretKey, utf8ToBytes('+14155550123')))), want);
});

t.test('handset flow and server opt-in route agree', async (t) => {
  const key = deriveServerKey(new Uint8Array(32).fill(1));
  const numbers = ['+14155550123', '+44 20 7946 0958', '+4930123456', '+819012345678'];
  const { blinds, blinded } = blindNumbers(numbers);
  const { evaluated, proof } = evaluateBlinded(key, blinded);
  const outputs = finalizeNumbers(numbers, blinds, blinded, evaluated, proof, key.publicKey);
  const routes = outputs.map(routeFromOutput);
  for (let i = 0; i < numbers.length; i++) {
    t.equal(hex(serverRouteForNumber(key, numbers[i])), hex(routes[i]), `number ${i}`);
  }
  t.equal(new Set(routes.map(hex)).size, numbers.length, 'distinct numbers, distinct routes');
  // blinding is fresh each time but the route is stable
  const again = blindNumbers(numbers);
  t.not(hex(again.blinded[0]), hex(blinded[0]), 'blinded elements are unlinkable');
  const ev2 = evaluateBlinded(key, again.blinded);
  const routes2 = finalizeNumbers(numbers, again.blinds, again.blinded, ev2.evaluated, ev2.proof, key.publicKey).map(routeFromOutput);
  t.same(routes2.map(hex), routes.map(hex));
  // another server key gives other routes
  t.not(hex(serverRouteForNumber(deriveServerKey(new Uint8Array(32).fill(2)), numbers[0])), hex(routes[0]));
});

t.test('routesForNumbers / routeForNumber convenience, chunked by MAX_EVALUATE_BATCH', async (t) => {
  const key = generateServerKey();
  const sizes: number[] = [];
  const evaluate = async (blinded: Uint8Array[]): Promise<Evaluation> => {
    sizes.push(blinded.length);
    return evaluateBlinded(key, blinded);
  };
  const numbers = Array.from({ length: MAX_EVALUATE_BATCH + 3 }, (_, i) => `+1415555${String(i).padStart(4, '0')}`);
  const routes = await routesForNumbers(numbers, key.publicKey, evaluate);
  t.same(sizes, [MAX_EVALUATE_BATCH, 3]);
  t.equal(routes.length, numbers.length);
  // The server's direct evaluation (RFC 9497 Evaluate) agrees with the handset's blinded
  // flow for every number, under a random key.
  const differ = numbers.filter((n, i) => hex(serverRouteForNumber(key, n)) !== hex(routes[i]!));
  t.same(differ, [], 'serverRouteForNumber = the handset flow for all of them');
  t.equal(hex(await routeForNumber(numbers[0], key.publicKey, evaluate)), hex(routes[0]));
  await t.rejects(routeForNumber(numbers[0], generateServerKey().publicKey, evaluate), AUTH_FAILED, 'unpinned key');
  await t.rejects(routesForNumbers(numbers.slice(0, 1), key.publicKey, () => null as unknown as Evaluation), BAD_REQUEST);
  await t.rejects(routesForNumbers(numbers.slice(0, 1), key.publicKey, 'x' as never), BAD_REQUEST);
});

t.test('proof failures are AUTH_FAILED with the fixed message', async (t) => {
  const key = generateServerKey();
  const other = generateServerKey();
  const numbers = ['+14155550123', '+14155550124'];
  const { blinds, blinded } = blindNumbers(numbers);
  const { evaluated, proof } = evaluateBlinded(key, blinded);
  const fin = (ev: Uint8Array[], pr: Uint8Array, pk = key.publicKey) => finalizeNumbers(numbers, blinds, blinded, ev, pr, pk);
  t.equal(fin(evaluated, proof).length, 2, 'honest answer verifies');
  t.throws(() => fin(evaluated, proof, other.publicKey), AUTH_FAILED, 'evaluated with another key than pinned');
  const wrong = evaluateBlinded(other, blinded);
  t.throws(() => fin(wrong.evaluated, wrong.proof), AUTH_FAILED, 'server used an unpinned key');
  t.throws(() => fin([evaluated[1], evaluated[0]], proof), AUTH_FAILED, 'swapped elements');
  const badProof = proof.slice();
  badProof[5] ^= 1;
  t.throws(() => fin(evaluated, badProof), AUTH_FAILED, 'tampered proof');
  t.throws(() => fin(evaluated, new Uint8Array(64).fill(0xff)), AUTH_FAILED, 'non-canonical proof scalars');
  t.throws(() => fin([evaluated[0], new Uint8Array(32)], proof), AUTH_FAILED, 'identity element');
  t.throws(() => fin([evaluated[0], new Uint8Array(32).fill(0xff)], proof), AUTH_FAILED, 'not an encoding');
  // a per-user key (tagging attack): evaluates one element with a different key
  const tagged = evaluateBlinded(other, [blinded[1]]);
  t.throws(() => fin([evaluated[0], tagged.evaluated[0]], proof), AUTH_FAILED, 'mixed keys');
});

t.test('evaluateBlinded limits and element checks', async (t) => {
  const key = generateServerKey();
  const one = blindNumbers(['+14155550123']).blinded[0];
  const max = Array.from({ length: MAX_EVALUATE_BATCH }, () => one);
  t.equal(MAX_EVALUATE_BATCH, 1000);
  t.equal(evaluateBlinded(key, max).evaluated.length, 1000, '1000 elements are fine');
  t.throws(() => evaluateBlinded(key, [...max, one]), { code: 'BAD_REQUEST', message: 'at most 1000 elements per evaluation' });
  t.throws(() => evaluateBlinded(key, []), { code: 'BAD_REQUEST', message: 'blinded must not be empty' });
  t.throws(() => evaluateBlinded(key, [one, new Uint8Array(31)]), { code: 'BAD_REQUEST', message: 'blinded element must be 32 bytes' });
  t.throws(() => evaluateBlinded(key, [one, new Uint8Array(33)]), BAD_REQUEST);
  const invalid = { code: 'BAD_REQUEST', message: 'blinded element is not a valid group element' };
  t.throws(() => evaluateBlinded(key, [new Uint8Array(32)]), invalid, 'identity');
  t.throws(() => evaluateBlinded(key, [new Uint8Array(32).fill(0xff)]), invalid, 'non-canonical');
  const nonCanonical = one.slice();
  nonCanonical[0] ^= 1; // an odd encoding is never canonical ristretto255
  t.throws(() => evaluateBlinded(key, [nonCanonical]), invalid, 'odd encoding');
});

t.test('wrong-type and wrong-size inputs are HushwireError', async (t) => {
  const key = generateServerKey();
  const b32 = new Uint8Array(32);
  const { blinds, blinded } = blindNumbers(['+14155550123']);
  const { evaluated, proof } = evaluateBlinded(key, blinded);
  const nums = ['+14155550123'];
  type F = (...a: unknown[]) => unknown;
  const bad: [string, () => unknown, string?][] = [
    ['deriveServerKey string', () => (deriveServerKey as F)('seed')],
    ['deriveServerKey short', () => deriveServerKey(new Uint8Array(31))],
    ['deriveServerKey long', () => deriveServerKey(new Uint8Array(64))],
    ['numberInput number', () => (numberInput as F)(14155550123), 'BAD_NUMBER'],
    ['numberInput garbage', () => numberInput('call me'), 'BAD_NUMBER'],
    ['blindNumbers string', () => (blindNumbers as F)('+14155550123')],
    ['blindNumbers bad number', () => blindNumbers(['+14155550123', '555-0123']), 'BAD_NUMBER'],
    ['blindNumbers non-string', () => (blindNumbers as F)([14155550123]), 'BAD_NUMBER'],
    ['evaluateBlinded key null', () => (evaluateBlinded as F)(null, blinded)],
    ['evaluateBlinded key string', () => (evaluateBlinded as F)('key', blinded)],
    ['evaluateBlinded sk short', () => evaluateBlinded({ secretKey: new Uint8Array(31), publicKey: key.publicKey }, blinded)],
    ['evaluateBlinded sk zero', () => evaluateBlinded({ secretKey: b32, publicKey: key.publicKey }, blinded)],
    ['evaluateBlinded sk >= order', () => evaluateBlinded({ secretKey: new Uint8Array(32).fill(0xff), publicKey: key.publicKey }, blinded)],
    ['evaluateBlinded pk identity', () => evaluateBlinded({ secretKey: key.secretKey, publicKey: b32 }, blinded)],
    ['evaluateBlinded not array', () => (evaluateBlinded as F)(key, blinded[0])],
    ['evaluateBlinded strings', () => (evaluateBlinded as F)(key, ['ab'.repeat(16)])],
    ['finalizeNumbers numbers string', () => (finalizeNumbers as F)('+14155550123', blinds, blinded, evaluated, proof, key.publicKey)],
    ['finalizeNumbers bad number', () => finalizeNumbers(['nope'], blinds, blinded, evaluated, proof, key.publicKey), 'BAD_NUMBER'],
    ['finalizeNumbers blinds not array', () => (finalizeNumbers as F)(nums, blinds[0], blinded, evaluated, proof, key.publicKey)],
    ['finalizeNumbers blind short', () => finalizeNumbers(nums, [new Uint8Array(31)], blinded, evaluated, proof, key.publicKey)],
    ['finalizeNumbers blinded short', () => finalizeNumbers(nums, blinds, [new Uint8Array(31)], evaluated, proof, key.publicKey)],
    ['finalizeNumbers evaluated string', () => (finalizeNumbers as F)(nums, blinds, blinded, ['x'], proof, key.publicKey)],
    ['finalizeNumbers evaluated empty', () => finalizeNumbers([], [], blinded, [], proof, key.publicKey)],
    ['finalizeNumbers length mismatch', () => finalizeNumbers([...nums, ...nums], blinds, blinded, evaluated, proof, key.publicKey)],
    ['finalizeNumbers proof short', () => finalizeNumbers(nums, blinds, blinded, evaluated, proof.subarray(0, 63), key.publicKey)],
    ['finalizeNumbers proof string', () => (finalizeNumbers as F)(nums, blinds, blinded, evaluated, 'proof', key.publicKey)],
    ['finalizeNumbers pk short', () => finalizeNumbers(nums, blinds, blinded, evaluated, proof, new Uint8Array(31))],
    ['finalizeNumbers pk identity', () => finalizeNumbers(nums, blinds, blinded, evaluated, proof, b32)],
    ['finalizeNumbers pk invalid', () => finalizeNumbers(nums, blinds, blinded, evaluated, proof, new Uint8Array(32).fill(0xff))],
    ['routeFromOutput short', () => routeFromOutput(new Uint8Array(32))],
    ['routeFromOutput string', () => (routeFromOutput as F)('output')],
    ['serverRouteForNumber bad key', () => (serverRouteForNumber as F)({}, '+14155550123')],
    ['serverRouteForNumber bad number', () => serverRouteForNumber(key, '+0123456789'), 'BAD_NUMBER'],
    ['serverRouteForNumber number type', () => (serverRouteForNumber as F)(key, 14155550123), 'BAD_NUMBER'],
    ['_deriveKeyPair info string', () => (_deriveKeyPair as F)(b32, 'info')],
    ['_blindInputs string input', () => (_blindInputs as F)(['00'], () => new Uint8Array(48))],
    ['_evaluateBlindedWith no key', () => (_evaluateBlindedWith as F)(undefined, blinded, () => new Uint8Array(48))],
    ['_finalizeInputs string input', () => (_finalizeInputs as F)(['00'], blinds, blinded, evaluated, proof, key.publicKey)],
  ];
  for (const [name, fn, code] of bad) t.throws(fn, { name: 'HushwireError', code: code ?? 'BAD_REQUEST' }, name);
  await t.rejects((routesForNumbers as F)('+14155550123', key.publicKey, () => undefined) as Promise<unknown>, BAD_REQUEST);
  await t.rejects((routesForNumbers as F)(nums, 'pk', () => undefined) as Promise<unknown>, BAD_REQUEST);
  await t.rejects((routeForNumber as F)(12, key.publicKey, () => undefined) as Promise<unknown>, { code: 'BAD_NUMBER' });
});

t.test('errors never echo a number', async (t) => {
  for (const bad of ['+1 415 555 O123', '+0014155550123', '004915112345678', '+1415555012345678']) {
    t.throws(() => blindNumbers([bad]), { code: 'BAD_NUMBER', message: 'not an E.164 phone number' });
  }
});
