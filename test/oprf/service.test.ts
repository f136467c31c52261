// The evaluator service (`hushwire oprf`) on a real nats-server, with the gateways'
// RemoteEvaluator: correct and verifiable answers, wrong-type and oversize requests
// refused, a full queue refused at once, expired work skipped, replicas sharing one id,
// a swapped key caught at registration, an evaluator that is down => UNAVAILABLE (no
// responders, not a timeout), and nothing on NATS but blinded elements.
import t from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { PassThrough } from 'node:stream';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import {
  deriveServerKey, generateServerKey, blindNumbers, finalizeNumbers, routeFromOutput, serverRouteForNumber,
} from '../../relay/crypto/oprf.ts';
import { RemoteEvaluator } from '../../relay/evaluator-remote.ts';
import { createLogger } from '../../relay/log.ts';
import { wire, encodeFrame } from '../../relay/wire.ts';
import { encodeRequest, OPRF_PROTOCOL_VERSION } from '../../relay/oprf-wire.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestEvaluator, waitUntil } from '../helpers/oprf.ts';

const KEY = deriveServerKey(new Uint8Array(32).fill(1));
const MAX_BATCH = 8;

function remote(servers: string[], evaluators: { id: string; publicKey: Uint8Array }[], timeoutMs = 10_000) {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const registry = new Registry();
  const ev = new RemoteEvaluator({ servers, evaluators, timeoutMs, name: 'test-gw', log: createLogger({ level: 'debug', destination: sink }), registry });
  return { ev, registry, logs: () => chunks.join('') };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return Number(v?.value ?? NaN);
}

/** A raw request on the evaluator's subject; the decoded reply. */
async function rawRequest(nc: NatsConnection, data: Uint8Array, subject = 'hw.oprf.main.eval') {
  const r = await nc.request(subject, data, { timeout: 10_000 });
  return wire.OprfResponse.decode(r.data);
}

t.test('evaluator over NATS', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const servers = [nats.url];
  const main = await startTestEvaluator({ servers, key: KEY, maxBatch: MAX_BATCH, maxQueued: MAX_BATCH, t });
  const nc = await connect({ servers, name: 'test-raw' });
  t.teardown(() => nc.close());

  // Everything on the bus, for the privacy check at the end.
  const seen: { subject: string; data: Uint8Array }[] = [];
  const spy = await connect({ servers, name: 'test-spy' });
  t.teardown(() => spy.isClosed() ? undefined : spy.close());
  spy.subscribe('>', { callback: (_e, m) => { seen.push({ subject: m.subject, data: m.data.slice() }); } });
  await spy.flush();

  const { ev, registry, logs } = remote(servers, [{ id: 'main', publicKey: KEY.publicKey }]);
  t.teardown(() => ev.close());
  await ev.start();
  await waitUntil(() => logs().includes('answers with the pinned key'), 'the start-up probe');

  t.test('answers verify against the pinned key and give the local routes', async (t) => {
    const numbers = ['+14155550123', '+4930123456', '+819012345678'];
    const { blinds, blinded } = blindNumbers(numbers);
    const res = await ev.evaluate(blinded);
    t.same(res.shares, [], 'one evaluator: no shares');
    const out = finalizeNumbers(numbers, blinds, blinded, res.evaluated, res.proof, KEY.publicKey);
    for (let i = 0; i < numbers.length; i++) {
      t.equal(hex(routeFromOutput(out[i]!)), hex(serverRouteForNumber(KEY, numbers[i]!)), `number ${i}`);
    }
    t.equal(hex(await ev.routeForNumber('+14155550123')), hex(serverRouteForNumber(KEY, '+14155550123')), 'registration route');
    t.equal(hex(ev.publicKey), hex(KEY.publicKey));
    t.same(ev.shareKeys, []);
    t.ok(await metric(registry, 'hushwire_oprf_client_requests_total', { evaluator: 'main', result: 'ok' }) >= 3);
  });

  t.test('wrong-type requests are refused with BAD_REQUEST', async (t) => {
    const one = blindNumbers(['+14155550123']).blinded;
    const cases: [string, Uint8Array][] = [
      ['garbage', new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02])],
      ['empty payload', new Uint8Array(0)],
      // (another number than those the privacy check below looks for: this one is ours)
      ['JSON with a number', new TextEncoder().encode('{"number":"+15550009999"}')],
      ['a WebSocket frame', encodeFrame([{ req: 1, evaluate: { blinded: one } }])],
      ['another version', wire.OprfRequest.encode({ version: OPRF_PROTOCOL_VERSION + 1, blinded: one }).finish()],
      ['no elements', encodeRequest([], 1000)],
      ['a short element', encodeRequest([new Uint8Array(31)], 1000)],
      ['the identity element', encodeRequest([new Uint8Array(32)], 1000)],
      ['a non-canonical element', encodeRequest([new Uint8Array(32).fill(0xff)], 1000)],
    ];
    for (const [name, data] of cases) {
      const r = await rawRequest(nc, data);
      t.equal(r.error?.code, 'BAD_REQUEST', name);
      t.same(r.evaluated, [], `${name}: no evaluation`);
      t.notMatch(r.error?.message ?? '', /\+?1415555/, `${name}: message echoes nothing`);
    }
    t.ok(main.service.stats.refused >= cases.length);
  });

  t.test('oversize requests are refused with TOO_LARGE before any work', async (t) => {
    const one = blindNumbers(['+14155550123']).blinded[0]!;
    const over = Array.from({ length: MAX_BATCH + 1 }, () => one);
    const r1 = await rawRequest(nc, encodeRequest(over, 1000));
    t.equal(r1.error?.code, 'TOO_LARGE', 'one element over the batch limit');
    t.equal(r1.maxBatch, MAX_BATCH, 'the refusal says the largest request');
    const r2 = await rawRequest(nc, new Uint8Array(64 * 1024).fill(0x12));
    t.equal(r2.error?.code, 'TOO_LARGE', '64 KiB payload');
    // Through the gateway's client: the evaluator's refusal stays TOO_LARGE, with the
    // size that works (a setting, not an outage: UNAVAILABLE would be retried in vain;
    // test/oprf/max-batch.test.ts).
    await t.rejects(ev.evaluate(over), { code: 'TOO_LARGE', message: new RegExp(`at most ${MAX_BATCH} elements`) });
    const r3 = await rawRequest(nc, encodeRequest([one], 1000));
    t.equal(r3.evaluated.length, 1, 'still serving');
    t.equal(r3.maxBatch, MAX_BATCH, 'every answer says the largest request');
  });

  t.test('a full queue answers RATE_LIMITED at once; held work completes; expired work is skipped', async (t) => {
    const full = blindNumbers(Array.from({ length: MAX_BATCH }, (_, i) => `+1415555${String(i).padStart(4, '0')}`));
    const release = main.service.hold();
    const first = rawRequest(nc, encodeRequest(full.blinded, 10_000));
    await waitUntil(() => main.service.stats.queuedElements === MAX_BATCH, 'the batch to be queued');
    const busy = await rawRequest(nc, encodeRequest(blindNumbers(['+14155550123']).blinded, 10_000));
    t.equal(busy.error?.code, 'RATE_LIMITED', 'over the element bound');
    t.ok((busy.error?.retryAfterMs ?? 0) > 0, 'with a retry-after');
    await t.rejects(ev.evaluate(blindNumbers(['+14155550123']).blinded), { code: 'RATE_LIMITED' }, 'the gateway passes RATE_LIMITED on');
    release();
    const ok = await first;
    t.equal(ok.evaluated.length, MAX_BATCH, 'the held batch is answered');
    t.same(
      finalizeNumbers(Array.from({ length: MAX_BATCH }, (_, i) => `+1415555${String(i).padStart(4, '0')}`), full.blinds, full.blinded, ok.evaluated, ok.proof, KEY.publicKey).length,
      MAX_BATCH,
    );
    // A request whose caller gives up (1 ms) before its turn: skipped, never answered.
    const expiredBefore = main.service.stats.expired;
    const release2 = main.service.hold();
    const late = nc.request('hw.oprf.main.eval', encodeRequest(blindNumbers(['+14155550123']).blinded, 1), { timeout: 2000 });
    late.catch(() => undefined);
    await waitUntil(() => main.service.stats.queuedElements === 1, 'the late request to be queued');
    await new Promise((r) => setTimeout(r, 5)); // let its 1 ms deadline pass
    release2();
    await waitUntil(() => main.service.stats.expired === expiredBefore + 1, 'the expired count');
    await t.rejects(late, { name: 'TimeoutError' }, 'no answer for an expired request');
  });

  t.test('a publish without a reply subject is ignored', async (t) => {
    const before = main.service.stats.requests;
    nc.publish('hw.oprf.main.eval', encodeRequest(blindNumbers(['+14155550123']).blinded, 1000));
    await nc.flush();
    await waitUntil(() => main.service.stats.requests === before + 1, 'the publish to arrive');
    const r = await rawRequest(nc, encodeRequest(blindNumbers(['+14155550123']).blinded, 1000));
    t.equal(r.evaluated.length, 1, 'still serving');
  });

  t.test('a request whose reply subject is outside --reply-prefixes is dropped unanswered', async (t) => {
    // NATS lets a requester name any reply subject, and an evaluator allowed to answer
    // (allow_responses) publishes there: aimed at a directory key or a device subject, an
    // answer would overwrite a number's record or reach a device. Dropped instead.
    const before = main.service.stats.refused;
    const aims = [`$KV.hw_dir.${'a'.repeat(32)}`, `hw.dev.${'b'.repeat(32)}.${'c'.repeat(32)}`, '$JS.API.STREAM.PURGE.HW_MBOX_0', 'elsewhere', '_INBOX'];
    for (const reply of aims) nc.publish('hw.oprf.main.eval', encodeRequest(blindNumbers(['+14155550123']).blinded, 1000), { reply });
    await nc.flush();
    await waitUntil(() => main.service.stats.refused === before + aims.length, 'the requests to be refused');
    const r = await rawRequest(nc, encodeRequest(blindNumbers(['+14155550123']).blinded, 1000));
    t.equal(r.evaluated.length, 1, 'an ordinary request (reply _INBOX.<id>) is still answered');
    t.same(seen.filter((m) => aims.includes(m.subject)), [], 'nothing was published on any of the aimed subjects');
    t.equal(await metric(main.service.registry, 'hushwire_oprf_requests_total', { result: 'bad_reply' }), aims.length, 'counted as bad_reply');
    const warns = main.logs().split('\n').filter((l) => l.includes('outside --reply-prefixes'));
    t.equal(warns.length, 1, 'one warning, not one per request');
    t.notMatch(warns[0]!, /a{32}|b{32}/, 'the warning gives the shape, not the subject\'s ids');
  });

  t.test('--reply-prefixes: a custom inbox prefix is answered, the default _INBOX is not', async (t) => {
    const only = await startTestEvaluator({ servers, key: KEY, id: 'custom', maxBatch: MAX_BATCH, maxQueued: MAX_BATCH, replyPrefixes: ['_INBOX_hw_gw'], t });
    const gw = await connect({ servers, name: 'test-gw-inbox', inboxPrefix: '_INBOX_hw_gw' });
    t.teardown(() => gw.close());
    const ok = await rawRequest(gw, encodeRequest(blindNumbers(['+14155550123']).blinded, 1000), 'hw.oprf.custom.eval');
    t.equal(ok.evaluated.length, 1, 'a requester with the allowed inbox prefix is answered');
    await t.rejects(nc.request('hw.oprf.custom.eval', encodeRequest(blindNumbers(['+14155550123']).blinded, 1000), { timeout: 1500 }),
      { name: 'TimeoutError' }, 'one with _INBOX gets no answer');
    await waitUntil(() => only.service.stats.refused === 1, 'counted');
  });

  t.test('replicas with one id share the load; one can go', async (t) => {
    const replica = await startTestEvaluator({ servers, key: KEY, maxBatch: MAX_BATCH, maxQueued: MAX_BATCH });
    const okBefore = main.service.stats.ok;
    const b = blindNumbers(['+14155550123']).blinded;
    for (let i = 0; i < 24; i++) await ev.evaluate(b);
    t.ok(replica.service.stats.ok > 0, 'the replica answered some');
    t.ok(main.service.stats.ok > okBefore, 'the first one answered some');
    await replica.close();
    t.equal(replica.service.ready, false);
    for (let i = 0; i < 4; i++) t.equal((await ev.evaluate(b)).evaluated.length, 1, 'the other still serves');
  });

  t.test('an evaluator with a swapped key: registration is refused, the operator is told', async (t) => {
    const rogue = await startTestEvaluator({ servers, id: 'rogue', key: generateServerKey(), maxBatch: MAX_BATCH, maxQueued: MAX_BATCH, t });
    const r = remote(servers, [{ id: 'rogue', publicKey: KEY.publicKey }]);
    t.teardown(() => r.ev.close());
    await r.ev.start();
    await waitUntil(() => r.logs().includes('answers with a key other than the pinned one'), 'the probe to notice');
    // The line says what to fix, on either side, without printing a key.
    const line = r.logs().split('\n').find((l) => l.includes('answers with a key other than the pinned one')) ?? '';
    t.match(line, /--oprf-public-key/, 'names the gateway flag');
    t.match(line, /hushwire oprf-key fetch --id rogue/, 'and how to read the key the evaluator holds');
    t.notOk(line.includes(hex(KEY.publicKey)), 'no key in the line');
    await t.rejects(r.ev.routeForNumber('+14155550123'), { code: 'UNAVAILABLE', message: 'OPRF evaluator answer did not verify' });
    t.ok(await metric(r.registry, 'hushwire_oprf_key_mismatch_total', { evaluator: 'rogue' }) >= 1, 'key mismatch counted');
    t.notMatch(r.logs(), /14155550123/, 'the number is not in the gateway log');
    t.notMatch(rogue.logs(), /14155550123/, 'nor in the evaluator log');
  });

  t.test('NATS never sees a number or a route', async (t) => {
    await spy.flush();
    t.ok(seen.length > 10, 'traffic was captured');
    const subjects = new Set(seen.map((m) => m.subject.replace(/^(_INBOX[^.]*)\..*/, '$1')));
    for (const s of subjects) t.match(s, /^(hw\.oprf\.(main|rogue|custom)\.eval|_INBOX|_INBOX_hw_gw)$/, `subject ${s}`);
    const needles = ['+14155550123', '14155550123', '4155550123', '+4930123456', '4930123456']
      .map((n) => Buffer.from(n));
    const routes = ['+14155550123', '+4930123456'].map((n) => Buffer.from(serverRouteForNumber(KEY, n)));
    const leaks = seen.filter((m) => [...needles, ...routes].some((n) => Buffer.from(m.data).indexOf(n) !== -1));
    t.same(leaks.map((m) => m.subject), [], 'no payload holds a number (any form) or a route');
    // A '>' subscriber is a responder for every subject: "no responders" (next test)
    // needs it gone. (Operators: the same holds for a wildcard tap on hw.oprf.*.)
    await spy.close();
  });

  t.test('evaluator down: UNAVAILABLE from no responders, not a wait', async (t) => {
    const r = remote(servers, [{ id: 'nobody', publicKey: KEY.publicKey }], 30_000);
    t.teardown(() => r.ev.close());
    await r.ev.start();
    await waitUntil(() => r.ev.connected, 'NATS');
    await t.rejects(r.ev.evaluate(blindNumbers(['+14155550123']).blinded), { code: 'UNAVAILABLE', message: 'OPRF evaluator unavailable' });
    await t.rejects(r.ev.routeForNumber('+14155550123'), { code: 'UNAVAILABLE' });
    // "no responders" answered: not the 30 s deadline.
    t.equal(await metric(r.registry, 'hushwire_oprf_client_requests_total', { evaluator: 'nobody', result: 'timeout' }), 0);
    t.ok(await metric(r.registry, 'hushwire_oprf_client_requests_total', { evaluator: 'nobody', result: 'unavailable' }) >= 2);
  });

  t.test('close finishes and stops serving', async (t) => {
    await main.close();
    t.equal(main.service.ready, false);
    await t.rejects(ev.evaluate(blindNumbers(['+14155550123']).blinded), { code: 'UNAVAILABLE' });
    t.match(main.logs(), /OPRF evaluator closed/);
    t.notMatch(main.logs(), new RegExp(hex(KEY.secretKey)), 'the key is not in the evaluator log');
  });
});
