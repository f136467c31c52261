// Split VOPRF key (k = k1 + k2): outputs equal those of one key holding the sum, on the
// RFC 9497 A.1.1 VOPRF vectors and on phone numbers; every share's proof is checked and
// share keys must add up to the pinned key; the in-process ShareEvaluator (what a
// gateway runs against evaluators) computes the same routes as a local key.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { bytesToHex as hex, hexToBytes as h } from '@noble/hashes/utils.js';
import {
  _deriveKeyPair, deriveServerKey, generateServerKey, blindNumbers, evaluateBlinded,
  serverRouteForNumber, routeFromOutput, finalizeNumbers,
} from '../../relay/crypto/oprf.ts';
import {
  splitKey, combineSecretKeys, combinePublicKeys, keyPairFromScalar, finalizeShares,
  finalizeNumberEvaluation, sharesMatchKey, verifyShare, MAX_SHARES, type ShareEvaluation,
} from '../../relay/crypto/oprf-split.ts';
import { LocalEvaluator, parseOprfKey, formatScalarKey, SCALAR_PREFIX } from '../../relay/evaluator.ts';
import { ShareEvaluator, localShareClient, type ShareClient } from '../../relay/evaluator-shares.ts';
import { checkEvaluatorSettings } from '../../relay/evaluator-settings.ts';

const AUTH_FAILED = { name: 'HushwireError', code: 'AUTH_FAILED', message: 'OPRF proof did not verify against the pinned key' };
const SHARES_MISMATCH = { name: 'HushwireError', code: 'AUTH_FAILED', message: 'OPRF share keys do not add up to the pinned key' };
const BAD_REQUEST = { name: 'HushwireError', code: 'BAD_REQUEST' };

interface Vector { vector: number; batch: number; data: { Input: string[]; Blind: string[]; BlindedElement: string[]; EvaluationElement: string[]; Output: string[] } }
const vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors/rfc9497-ristretto255-sha512.json', import.meta.url), 'utf8')) as {
  modes: { mode: string; common: Record<string, string>; tests: Vector[] }[];
};
const voprfMode = vectors.modes.find((m) => m.mode === 'VOPRF')!;

const shareOf = (key: { secretKey: Uint8Array; publicKey: Uint8Array }, blinded: Uint8Array[]): ShareEvaluation =>
  ({ publicKey: key.publicKey, ...evaluateBlinded(key, blinded) });

t.test('RFC 9497 A.1.1.2 VOPRF vectors through a split key give the vector outputs', async (t) => {
  const key = _deriveKeyPair(h(voprfMode.common.Seed), h(voprfMode.common.KeyInfo));
  t.equal(hex(key.publicKey), voprfMode.common.pkSm);
  const [a, b] = splitKey(key);
  t.not(hex(a!.secretKey), hex(key.secretKey));
  t.equal(hex(combinePublicKeys([a!.publicKey, b!.publicKey])), voprfMode.common.pkSm, 'P1 + P2 = P');
  for (const v of voprfMode.tests) {
    const d = v.data;
    const blinded = d.BlindedElement.map(h);
    const sa = shareOf(a!, blinded);
    const sb = shareOf(b!, blinded);
    // The two halves add up to the RFC's evaluation element (k1*B + k2*B = k*B).
    const sum = sa.evaluated.map((e, i) => hex(ristretto255.Point.fromBytes(e).add(ristretto255.Point.fromBytes(sb.evaluated[i]!)).toBytes()));
    t.same(sum, d.EvaluationElement, `vector ${v.vector} evaluation elements`);
    const out = finalizeShares(d.Input.map(h), d.Blind.map(h), blinded, [sa, sb], key.publicKey);
    t.same(out.map(hex), d.Output, `vector ${v.vector} outputs`);
    // The same shares against another pinned key: refused.
    t.throws(() => finalizeShares(d.Input.map(h), d.Blind.map(h), blinded, [sa, sb], generateServerKey().publicKey), SHARES_MISMATCH);
  }
});

t.test('split-key outputs equal single-key outputs (split of a key, and independent shares)', async (t) => {
  const numbers = ['+14155550123', '+44 20 7946 0958', '+4930123456'];
  // 1. an existing key split in two (the migration path: routes unchanged)
  const key = deriveServerKey(new Uint8Array(32).fill(1));
  const [a, b] = splitKey(key);
  const { blinds, blinded } = blindNumbers(numbers);
  const split = finalizeNumberEvaluation(numbers, blinds, blinded, { shares: [shareOf(a!, blinded), shareOf(b!, blinded)] }, key.publicKey);
  const single = evaluateBlinded(key, blinded);
  const one = finalizeNumbers(numbers, blinds, blinded, single.evaluated, single.proof, key.publicKey);
  t.same(split.map(hex), one.map(hex), 'same outputs as the whole key');
  t.equal(hex(routeFromOutput(split[0]!)), '7668ca406fd62e351b20f1929bc45c39cb7ff3c1602ed3ee24ffd768e300f12c', 'the pinned route of test/crypto/oprf.test.ts');
  // 2. two operators who each made their own key: nobody ever held k1 + k2
  const k1 = deriveServerKey(new Uint8Array(32).fill(7));
  const k2 = deriveServerKey(new Uint8Array(32).fill(9));
  const combined = combineSecretKeys([k1.secretKey, k2.secretKey]);
  t.equal(hex(combined.publicKey), hex(combinePublicKeys([k1.publicKey, k2.publicKey])));
  const b2 = blindNumbers(numbers);
  const out = finalizeNumberEvaluation(numbers, b2.blinds, b2.blinded, { shares: [shareOf(k1, b2.blinded), shareOf(k2, b2.blinded)] }, combined.publicKey);
  for (let i = 0; i < numbers.length; i++) {
    t.equal(hex(routeFromOutput(out[i]!)), hex(serverRouteForNumber(combined, numbers[i]!)), `number ${i}: same route as one key k1 + k2`);
  }
  // and neither share alone computes it
  t.not(hex(serverRouteForNumber(k1, numbers[0]!)), hex(routeFromOutput(out[0]!)));
  t.not(hex(serverRouteForNumber(k2, numbers[0]!)), hex(routeFromOutput(out[0]!)));
  // three shares work the same way
  const three = splitKey(key, 3);
  const b3 = blindNumbers(numbers.slice(0, 1));
  const out3 = finalizeNumberEvaluation(numbers.slice(0, 1), b3.blinds, b3.blinded, { shares: three.map((k) => shareOf(k, b3.blinded)) }, key.publicKey);
  t.equal(hex(out3[0]!), hex(one[0]!));
});

t.test('every share is verified; share keys must add up to the pinned key', async (t) => {
  const key = generateServerKey();
  const [a, b] = splitKey(key);
  const numbers = ['+14155550123', '+14155550124'];
  const { blinds, blinded } = blindNumbers(numbers);
  const sa = shareOf(a!, blinded);
  const sb = shareOf(b!, blinded);
  const fin = (shares: ShareEvaluation[], pinned = key.publicKey) => finalizeNumberEvaluation(numbers, blinds, blinded, { shares }, pinned);
  t.equal(fin([sa, sb]).length, 2, 'honest shares verify');
  t.equal(fin([sb, sa]).length, 2, 'order of shares does not matter');
  // An evaluator that swapped its key, but still claims its pinned share key.
  const rogue = generateServerKey();
  const swapped = { ...shareOf(rogue, blinded), publicKey: b!.publicKey };
  t.throws(() => fin([sa, swapped]), AUTH_FAILED, 'share evaluated with another key than its pinned one');
  // The same rogue, honest about its key: the keys no longer add up.
  t.throws(() => fin([sa, shareOf(rogue, blinded)]), SHARES_MISMATCH, 'share keys that do not add up');
  // A gateway that drops one share and relabels the other with the whole key.
  t.throws(() => fin([{ ...sa, publicKey: key.publicKey }]), BAD_REQUEST, 'one share is no split');
  t.throws(() => fin([sa, sa]), SHARES_MISMATCH, 'the same share twice');
  const tampered = { ...sb, proof: sb.proof.slice() };
  tampered.proof[3]! ^= 1;
  t.throws(() => fin([sa, tampered]), AUTH_FAILED, 'tampered proof');
  t.throws(() => fin([sa, { ...sb, evaluated: [sb.evaluated[1]!, sb.evaluated[0]!] }]), AUTH_FAILED, 'swapped elements');
  // Keys that add up, chosen by someone without k: P1' = P1 + X, P2' = P2 - X. Each proof
  // is checked against its own key, so the real evaluations no longer verify.
  const x = generateServerKey().publicKey;
  const P = ristretto255.Point;
  const p1 = P.fromBytes(a!.publicKey).add(P.fromBytes(x)).toBytes();
  const p2 = P.fromBytes(b!.publicKey).subtract(P.fromBytes(x)).toBytes();
  t.ok(sharesMatchKey([p1, p2], key.publicKey), 'relabelled keys still add up');
  t.throws(() => fin([{ ...sa, publicKey: p1 }, { ...sb, publicKey: p2 }]), AUTH_FAILED, 'relabelled share keys');
  // malformed answers
  t.throws(() => fin([sa, { ...sb, evaluated: [sb.evaluated[0]!] }]), BAD_REQUEST, 'short share');
  t.throws(() => fin([sa, { ...sb, proof: sb.proof.subarray(0, 63) }]), BAD_REQUEST, 'short proof');
  t.throws(() => finalizeNumberEvaluation(numbers, blinds, blinded, null, key.publicKey), BAD_REQUEST);
  t.throws(() => finalizeNumberEvaluation(numbers, blinds, blinded, {}, key.publicKey), BAD_REQUEST, 'neither elements nor shares');
  t.throws(() => fin(Array.from({ length: MAX_SHARES + 1 }, () => sa)), BAD_REQUEST, 'too many shares');
  t.throws(() => verifyShare(blinded, { ...sa, publicKey: b!.publicKey }), AUTH_FAILED);
  // single key through the same entry point
  const single = evaluateBlinded(key, blinded);
  t.equal(finalizeNumberEvaluation(numbers, blinds, blinded, { ...single, shares: [] }, key.publicKey).length, 2);
  t.throws(() => finalizeNumberEvaluation(numbers, blinds, blinded, single, a!.publicKey), AUTH_FAILED, 'single key, other pinned key');
});

t.test('key helpers: scalars, sums, checks', async (t) => {
  const key = generateServerKey();
  t.equal(hex(keyPairFromScalar(key.secretKey).publicKey), hex(key.publicKey));
  t.throws(() => keyPairFromScalar(new Uint8Array(32)), BAD_REQUEST, 'zero');
  t.throws(() => keyPairFromScalar(new Uint8Array(32).fill(0xff)), BAD_REQUEST, 'not canonical');
  t.throws(() => keyPairFromScalar(new Uint8Array(31)), BAD_REQUEST);
  t.throws(() => splitKey(key, 1), BAD_REQUEST);
  t.throws(() => splitKey(key, MAX_SHARES + 1), BAD_REQUEST);
  const shares = splitKey(key, 2);
  t.equal(hex(combineSecretKeys(shares.map((s) => s.secretKey)).secretKey), hex(key.secretKey));
  t.not(hex(splitKey(key, 2)[0]!.secretKey), hex(shares[0]!.secretKey), 'fresh randomness per split');
  t.throws(() => combinePublicKeys([]), BAD_REQUEST);
  t.throws(() => combinePublicKeys([new Uint8Array(32)]), BAD_REQUEST, 'identity');
  const neg = ristretto255.Point.fromBytes(key.publicKey).negate().toBytes();
  t.throws(() => combinePublicKeys([key.publicKey, neg]), BAD_REQUEST, 'keys that cancel out');
  t.notOk(sharesMatchKey([new Uint8Array(32).fill(0xff)], key.publicKey));
});

t.test('key files: seed or share, parsed without echoing them', async (t) => {
  const seed = 'ab'.repeat(32);
  t.equal(hex(parseOprfKey(`${seed}\n`).publicKey), hex(deriveServerKey(h(seed)).publicKey));
  const key = generateServerKey();
  const text = formatScalarKey(key.secretKey);
  t.ok(text.startsWith(SCALAR_PREFIX));
  t.equal(hex(parseOprfKey(text).secretKey), hex(key.secretKey));
  t.equal(hex(parseOprfKey(`  ${text.toUpperCase().replace('OPRF-SCALAR-V1:', SCALAR_PREFIX)}  `).secretKey), hex(key.secretKey));
  for (const bad of ['', 'zz'.repeat(32), `${SCALAR_PREFIX}${'00'.repeat(32)}`, `${SCALAR_PREFIX}${'ab'.repeat(31)}`, `${SCALAR_PREFIX}${'ff'.repeat(32)}`]) {
    t.throws(() => parseOprfKey(bad), BAD_REQUEST, JSON.stringify(bad.slice(0, 20)));
    try {
      parseOprfKey(bad);
    } catch (e) {
      if (bad.length > 20) t.notMatch((e as Error).message, bad.slice(SCALAR_PREFIX.length, SCALAR_PREFIX.length + 16), 'message does not echo the key');
    }
  }
});

t.test('ShareEvaluator (what gateways run) computes the routes of one key holding the sum', async (t) => {
  const key = deriveServerKey(new Uint8Array(32).fill(1));
  const [a, b] = splitKey(key);
  const local = new LocalEvaluator(new Uint8Array(32).fill(1));
  const split = new ShareEvaluator({ shares: [
    { client: localShareClient('alpha', a!), publicKey: a!.publicKey },
    { client: localShareClient('beta', b!), publicKey: b!.publicKey },
  ] });
  const one = new ShareEvaluator({ shares: [{ client: localShareClient('solo', key), publicKey: key.publicKey }] });
  t.teardown(() => Promise.all([local.close(), split.close(), one.close()]));
  t.equal(hex(split.publicKey), hex(key.publicKey), 'combined key announced');
  t.same(split.shareKeys.map(hex), [hex(a!.publicKey), hex(b!.publicKey)], 'share keys announced');
  t.same(one.shareKeys, [], 'no shares with one holder');
  for (const n of ['+14155550123', '+819012345678']) {
    const want = hex(await local.routeForNumber(n));
    t.equal(hex(await split.routeForNumber(n)), want, 'split registration route');
    t.equal(hex(await one.routeForNumber(n)), want, 'remote single-key registration route');
  }
  // Discovery: the handset verifies what the gateway relays.
  const numbers = ['+14155550123'];
  const { blinds, blinded } = blindNumbers(numbers);
  const ev = await split.evaluate(blinded);
  t.same(ev.evaluated, []);
  t.equal(ev.shares.length, 2);
  const out = finalizeNumberEvaluation(numbers, blinds, blinded, ev, key.publicKey);
  t.equal(hex(routeFromOutput(out[0]!)), hex(await local.routeForNumber(numbers[0]!)));
  const ev1 = await one.evaluate(blinded);
  t.equal(ev1.shares.length, 0);
  t.equal(ev1.evaluated.length, 1);
  await t.rejects(split.evaluate([new Uint8Array(31)]), BAD_REQUEST);
  await t.rejects(split.evaluate([]), BAD_REQUEST);
});

t.test('ShareEvaluator: a holder with a swapped key cannot make a route; failures fail the call', async (t) => {
  const key = generateServerKey();
  const [a, b] = splitKey(key);
  const rogue = generateServerKey();
  const mismatches: string[] = [];
  const ev = new ShareEvaluator({
    shares: [
      { client: localShareClient('alpha', a!), publicKey: a!.publicKey },
      { client: localShareClient('beta', rogue), publicKey: b!.publicKey },
    ],
    onKeyMismatch: (id) => mismatches.push(id),
  });
  await t.rejects(ev.routeForNumber('+14155550123'), { code: 'UNAVAILABLE', message: 'OPRF evaluator answer did not verify' });
  t.same(mismatches, ['beta'], 'the mismatch is reported, by evaluator id');
  // A holder that is down: the whole call fails (a split key needs every share).
  const down: ShareClient = { id: 'down', evaluate: async () => { throw Object.assign(new Error('x'), { name: 'HushwireError' }); }, close: async () => {} };
  const ev2 = new ShareEvaluator({ shares: [
    { client: localShareClient('alpha', a!), publicKey: a!.publicKey },
    { client: down, publicKey: b!.publicKey },
  ] });
  await t.rejects(ev2.evaluate(blindNumbers(['+14155550123']).blinded), { message: 'x' }, 'the holder\'s own failure, passed on');
  // A holder that answers garbage: UNAVAILABLE, never passed on.
  const liar: ShareClient = { id: 'liar', evaluate: async (bl) => ({ evaluated: bl.map(() => new Uint8Array(31)), proof: new Uint8Array(64), publicKey: b!.publicKey }), close: async () => {} };
  const ev3 = new ShareEvaluator({ shares: [
    { client: localShareClient('alpha', a!), publicKey: a!.publicKey },
    { client: liar, publicKey: b!.publicKey },
  ] });
  await t.rejects(ev3.evaluate(blindNumbers(['+14155550123']).blinded), { code: 'UNAVAILABLE', message: 'OPRF evaluator sent a malformed answer' });
  t.throws(() => new ShareEvaluator({ shares: [] }), BAD_REQUEST);
  t.throws(() => new ShareEvaluator({ shares: [
    { client: localShareClient('same', a!), publicKey: a!.publicKey },
    { client: localShareClient('same', b!), publicKey: b!.publicKey },
  ] }), BAD_REQUEST, 'ids must differ');
  await Promise.all([ev.close(), ev2.close(), ev3.close()]);
  await t.rejects(ev.evaluate(blindNumbers(['+14155550123']).blinded), { code: 'UNAVAILABLE' }, 'closed');
});

t.test('ShareEvaluator with offThread: blind and finalize on its own thread, same routes, same refusals', async (t) => {
  const key = deriveServerKey(new Uint8Array(32).fill(9));
  const [a, b] = splitKey(key);
  const local = new LocalEvaluator(new Uint8Array(32).fill(9), { inlineMax: 1 });
  const shares = () => [
    { client: localShareClient('alpha', a!), publicKey: a!.publicKey },
    { client: localShareClient('beta', b!), publicKey: b!.publicKey },
  ];
  const split = new ShareEvaluator({ shares: shares(), offThread: true });
  t.teardown(() => Promise.all([local.close(), split.close()]));
  const numbers = ['+14155550131', '+442071838751', '+819012345679'];
  // Before the thread runs: on the calling thread, no wait.
  for (const n of numbers) t.equal(hex(await split.routeForNumber(n)), hex(await local.routeForNumber(n)), `same route for number ${numbers.indexOf(n)} (thread starting)`);
  await split.ready();
  for (const n of numbers) t.equal(hex(await split.routeForNumber(n)), hex(await local.routeForNumber(n)), `same route for number ${numbers.indexOf(n)} (on the thread)`);
  // The holders here answer in-process (promises only), so the route can only need an
  // event-loop turn if blinding and finalizing went to the thread.
  t.equal(await settlesWithinMicrotasks(split.routeForNumber(numbers[0]!)), false, 'the route was computed off the calling thread');
  const inlineSplit = new ShareEvaluator({ shares: shares() });
  t.teardown(() => inlineSplit.close());
  t.equal(await settlesWithinMicrotasks(inlineSplit.routeForNumber(numbers[0]!)), true, 'without offThread it settles within microtasks (the check above can fail)');
  // A holder with another key: the proof check on the thread refuses it, as inline.
  const rogue = generateServerKey();
  const mismatches: string[] = [];
  const bad = new ShareEvaluator({
    shares: [{ client: localShareClient('alpha', a!), publicKey: a!.publicKey }, { client: localShareClient('beta', rogue), publicKey: b!.publicKey }],
    onKeyMismatch: (id) => mismatches.push(id),
    offThread: true,
  });
  t.teardown(() => bad.close());
  await bad.ready();
  await t.rejects(bad.routeForNumber(numbers[0]!), { code: 'UNAVAILABLE', message: 'OPRF evaluator answer did not verify' });
  t.same(mismatches, ['beta']);
  await t.rejects(bad.routeForNumber('+1 555 not a number'), { code: 'BAD_NUMBER' }, 'a malformed number keeps its code across the thread');
  await split.close();
  await t.rejects(split.routeForNumber(numbers[0]!), { code: 'UNAVAILABLE' }, 'closed');
  await t.rejects(split.ready(), { code: 'UNAVAILABLE' });
});

t.test('LocalEvaluator: large batches go to a worker thread, same answers', async (t) => {
  const seed = new Uint8Array(32).fill(5);
  const local = new LocalEvaluator(seed, { inlineMax: 2 });
  t.teardown(() => local.close());
  const numbers = ['+14155550101', '+14155550102', '+14155550103', '+14155550104'];
  const { blinds, blinded } = blindNumbers(numbers);
  const ev = await local.evaluate(blinded); // 4 > inlineMax: evaluated by the pool
  const out = finalizeNumbers(numbers, blinds, blinded, ev.evaluated, ev.proof, local.publicKey);
  t.equal(hex(routeFromOutput(out[3]!)), hex(await local.routeForNumber(numbers[3]!)));
  await t.rejects(local.evaluate([...blinded.slice(0, 2), new Uint8Array(32)]), { code: 'BAD_REQUEST', message: 'blinded element is not a valid group element' });
  await local.close();
  await t.rejects(local.evaluate(blinded), { code: 'UNAVAILABLE' });
});

t.test('LocalEvaluator: by default even one element is evaluated off the event loop', async (t) => {
  const local = new LocalEvaluator(new Uint8Array(32).fill(6));
  t.teardown(() => local.close());
  const numbers = ['+14155550111'];
  const { blinds, blinded } = blindNumbers(numbers);
  // Inline, evaluate() would do its ~5 ms of arithmetic within the call and settle after
  // a few microtasks; from the worker the answer needs an event-loop turn (a message).
  const evaluating = local.evaluate(blinded);
  t.equal(await settlesWithinMicrotasks(evaluating), false, 'the element was evaluated off the calling thread');
  const ev = await evaluating;
  const out = finalizeNumbers(numbers, blinds, blinded, ev.evaluated, ev.proof, local.publicKey);
  t.equal(hex(routeFromOutput(out[0]!)), hex(await local.routeForNumber(numbers[0]!)), 'same answer as the handset flow');
  const inline = new LocalEvaluator(new Uint8Array(32).fill(6), { inlineMax: 16 });
  t.teardown(() => inline.close());
  t.equal(await settlesWithinMicrotasks(inline.evaluate(blinded)), true, 'inlineMax 16 keeps one element on the calling thread (the check above can fail)');
});

/** true if `p` settles before any macrotask can run (only microtasks: work done within
 *  the call); false if it needs an event-loop turn, as an answer from a thread does.
 *  Waits for `p` either way. */
async function settlesWithinMicrotasks(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  const done = p.then(() => { settled = true; }, () => { settled = true; });
  for (let i = 0; i < 200; i++) await null;
  const within = settled;
  await done;
  return within;
}

t.test('LocalEvaluator: by default the route of a number is computed off the event loop, same route', async (t) => {
  const seed = new Uint8Array(32).fill(7);
  const worker = new LocalEvaluator(seed);
  const inline = new LocalEvaluator(seed, { inlineMax: 1 });
  t.teardown(() => Promise.all([worker.close(), inline.close()]));
  const numbers = ['+14155550121', '+442071838750', '+819012345678', '+4915112345678', '+16175550199'];
  // The first calls come before the worker has started: answered on the calling thread
  // (no wait for the thread), and the same routes.
  for (const n of numbers) t.equal(hex(await worker.routeForNumber(n)), hex(await inline.routeForNumber(n)), `same route for number ${numbers.indexOf(n)} (worker starting)`);
  await worker.ready();
  for (const n of numbers) t.equal(hex(await worker.routeForNumber(n)), hex(await inline.routeForNumber(n)), `same route for number ${numbers.indexOf(n)} (on the worker)`);
  // Inline, routeForNumber does its ~1.5 ms within the call and settles after a few
  // microtasks; from the thread the answer needs an event-loop turn (a message).
  t.equal(await settlesWithinMicrotasks(worker.routeForNumber(numbers[0]!)), false, 'the route was computed off the calling thread');
  t.equal(await settlesWithinMicrotasks(inline.routeForNumber(numbers[0]!)), true, 'inlineMax 1 keeps routes on the calling thread (the check above can fail)');
  // Concurrent routes and evaluations share the worker; each gets its own answer.
  const { blinds, blinded } = blindNumbers([numbers[1]!]);
  const [r0, ev, r2] = await Promise.all([worker.routeForNumber(numbers[0]!), worker.evaluate(blinded), worker.routeForNumber(numbers[2]!)]);
  t.equal(hex(r0), hex(await inline.routeForNumber(numbers[0]!)));
  t.equal(hex(r2), hex(await inline.routeForNumber(numbers[2]!)));
  const out = finalizeNumbers([numbers[1]!], blinds, blinded, ev.evaluated, ev.proof, worker.publicKey);
  t.equal(hex(routeFromOutput(out[0]!)), hex(await inline.routeForNumber(numbers[1]!)), 'the evaluation between them is the handset flow of its own number');
  // The worker's errors keep their code across the thread; nothing echoes the input.
  const e = await worker.routeForNumber('+1 555 not a number').then(() => null, (x: unknown) => x as { code: string; message: string });
  t.equal(e?.code, 'BAD_NUMBER', 'a malformed number is refused with its code');
  t.notMatch(e?.message ?? '', /555/, 'the message does not echo the input');
  await worker.close();
  await t.rejects(worker.routeForNumber(numbers[0]!), { code: 'UNAVAILABLE' }, 'closed');
  await t.rejects(worker.ready(), { code: 'UNAVAILABLE' }, 'closed: no worker started again');
});

t.test('gateway evaluator settings: remote needs NATS and one pinned key per evaluator', async (t) => {
  const P1 = hex(generateServerKey().publicKey);
  const P2 = hex(generateServerKey().publicKey);
  const base = { oprfKeyFile: undefined, oprfKey: undefined, oprfEvaluator: [] as string[], oprfPublicKey: [] as string[], oprfTimeoutMs: 5000, nats: [] as string[], natsPrefix: 'hw', name: 'gw' };
  t.equal(checkEvaluatorSettings(base), null, 'embedded, ephemeral key');
  t.match(checkEvaluatorSettings({ ...base, nats: ['nats://x'] }), /--oprf-key-file/);
  t.equal(checkEvaluatorSettings({ ...base, nats: ['nats://x'], oprfEvaluator: ['main'], oprfPublicKey: [P1] }), null);
  t.equal(checkEvaluatorSettings({ ...base, nats: ['nats://x'], oprfEvaluator: ['a', 'b'], oprfPublicKey: [P1, P2] }), null);
  const bad: [object, RegExp][] = [
    [{ oprfEvaluator: ['main'], oprfPublicKey: [P1] }, /needs --nats/],
    [{ nats: ['n'], oprfEvaluator: ['main'], oprfPublicKey: [] }, /pin one public key per --oprf-evaluator/],
    [{ nats: ['n'], oprfEvaluator: ['a', 'b'], oprfPublicKey: [P1] }, /pin one public key/],
    [{ nats: ['n'], oprfEvaluator: ['a', 'b', 'c'], oprfPublicKey: [P1, P2, P1] }, /one evaluator, or two/],
    [{ nats: ['n'], oprfEvaluator: ['a', 'a'], oprfPublicKey: [P1, P2] }, /must differ/],
    [{ nats: ['n'], oprfEvaluator: ['a', 'b'], oprfPublicKey: [P1, P1] }, /same key/],
    [{ nats: ['n'], oprfEvaluator: ['A.b'], oprfPublicKey: [P1] }, /ids are/],
    [{ nats: ['n'], oprfEvaluator: ['main'], oprfPublicKey: ['00'.repeat(32)] }, /valid ristretto255/],
    [{ nats: ['n'], oprfEvaluator: ['main'], oprfPublicKey: ['xyz'] }, /64 hex/],
    [{ nats: ['n'], oprfEvaluator: ['main'], oprfPublicKey: [P1], oprfKeyFile: '/k' }, /exclude each other/],
    [{ oprfPublicKey: [P1] }, /needs --oprf-evaluator/],
  ];
  for (const [o, re] of bad) t.match(checkEvaluatorSettings({ ...base, ...o }), re, JSON.stringify(o).slice(0, 60));
});
