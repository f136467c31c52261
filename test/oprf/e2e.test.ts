// End to end through gateways, with handsets on the real SDK and `hushwire oprf`
// evaluators on a real nats-server:
// - one evaluator serving two gateways: handsets registered on either reach each other;
// - a key split between two evaluators: same, the Challenge announces both share keys,
//   and the routes are exactly those of one key holding k1 + k2;
// - an evaluator down: register and discovery answer UNAVAILABLE (no hang);
// - an evaluator with a swapped key (single, and one share of a split key): the handset
//   refuses the result with AUTH_FAILED "OPRF proof did not verify against the pinned key".
//
// Evaluator start-ups are most of this file's time (each one's worker thread loads
// TypeScript through tsx: ~0.65 s of CPU, 3-19 s on a loaded 2-core machine, where 8 of
// them pushed the file past tap's 120 s). So the subtests share what they do not need
// fresh: 'main' (one key, behind gateways a and b) and 'rogue' (a key no gateway pins
// for it) run for the whole file; a gateway that pins one key and asks 'rogue' is an
// evaluator with a swapped key, as the handset and the gateway see it. 5 start-ups, not 8.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { deriveServerKey, generateServerKey, serverRouteForNumber, type OprfKeyPair } from '../../relay/crypto/oprf.ts';
import { combineSecretKeys, splitKey } from '../../relay/crypto/oprf-split.ts';
import { HushwireClient } from '../../client/index.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText, type Handset } from '../helpers/handsets.ts';
import { connectRaw } from '../helpers/raw.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';
import { registerBody, startVerification } from '../helpers/raw-device.ts';

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;
const PROOF_FAILED = { code: 'AUTH_FAILED', message: 'OPRF proof did not verify against the pinned key' };

function profileRoute(h: Handset): string {
  return (JSON.parse(readFileSync(join(h.profileDir, 'device.json'), 'utf8')) as { route: string }).route;
}

async function gateway(t: Test, nats: string, evaluators: { id: string; key: OprfKeyPair }[]): Promise<TestGateway> {
  const gw = await startTestGateway({
    nats,
    transport: 'ws',
    oprfEvaluator: evaluators.map((e) => e.id),
    oprfPublicKey: evaluators.map((e) => hex(e.key.publicKey)),
    oprfTimeoutMs: 30_000,
  });
  t.teardown(() => gw.close());
  return gw;
}

async function expectError(t: Test, p: Promise<unknown>, want: { code: string; message?: string }, what: string) {
  try {
    await p;
    t.fail(`${what}: expected ${want.code}`);
  } catch (e) {
    t.match(e, { name: 'HushwireError', ...want }, what);
  }
}

t.test('OPRF evaluators behind gateways', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const servers = [nats.url];
  const mainKey = deriveServerKey(new Uint8Array(32).fill(11));
  const rogueKey = generateServerKey();
  // `main` is replaced when the down/back subtest starts it again: closed at the end, whichever it is.
  let [main] = await Promise.all([
    startTestEvaluator({ servers, id: 'main', key: mainKey }),
    startTestEvaluator({ servers, id: 'rogue', key: rogueKey, t }),
  ]);
  t.teardown(() => main.close());
  const [a, b] = await Promise.all([
    gateway(t, nats.url, [{ id: 'main', key: mainKey }]),
    gateway(t, nats.url, [{ id: 'main', key: mainKey }]),
  ]);

  t.test('one evaluator serves two gateways', async (t) => {
    const raw = await connectRaw(a.url);
    const ch = (await raw.next((op) => !!op.challenge)).challenge!;
    t.equal(hex(ch.oprfPublicKey), hex(mainKey.publicKey), 'Challenge: the evaluator key');
    t.same(ch.oprfShareKeys, [], 'Challenge: no share keys');
    raw.close();

    const alice = await registerHandset([a.url], freshNumber());
    const bob = await registerHandset([b.url], freshNumber());
    t.equal(profileRoute(alice), hex(serverRouteForNumber(mainKey, alice.number)), 'route from the remote key');
    t.equal(profileRoute(bob), hex(serverRouteForNumber(mainKey, bob.number)));
    const rx = await listen(bob, [b.url]);
    t.teardown(() => rx.close());
    await sendText(alice, bob.number, 'hello across gateways', [a.url]);
    const [m] = await rx.waitFor(1);
    t.equal(m!.text, 'hello across gateways');
    t.equal(m!.from, alice.number);
    t.notMatch(a.logs() + b.logs(), alice.number.slice(1), 'no number in the gateway logs');
  });

  t.test('a key split between two evaluators', async (t) => {
    const k1 = deriveServerKey(new Uint8Array(32).fill(21));
    const k2 = deriveServerKey(new Uint8Array(32).fill(22));
    const combined = combineSecretKeys([k1.secretKey, k2.secretKey]);
    await Promise.all([
      startTestEvaluator({ servers, id: 'share-a', key: k1, t }),
      startTestEvaluator({ servers, id: 'share-b', key: k2, t }),
    ]);
    const shares = [{ id: 'share-a', key: k1 }, { id: 'share-b', key: k2 }];
    const [c, d] = await Promise.all([gateway(t, nats.url, shares), gateway(t, nats.url, shares)]);

    const raw = await connectRaw(c.url);
    const ch = (await raw.next((op) => !!op.challenge)).challenge!;
    t.equal(hex(ch.oprfPublicKey), hex(combined.publicKey), 'Challenge: the combined key, for the handset to pin');
    t.same(ch.oprfShareKeys.map((k) => hex(k)), [hex(k1.publicKey), hex(k2.publicKey)], 'Challenge: both share keys');
    raw.close();

    const carol = await registerHandset([c.url], freshNumber());
    const dave = await registerHandset([d.url], freshNumber());
    // Split-key routes are single-key routes under k1 + k2 (and under neither share).
    t.equal(profileRoute(carol), hex(serverRouteForNumber(combined, carol.number)), 'carol: route of one key k1 + k2');
    t.equal(profileRoute(dave), hex(serverRouteForNumber(combined, dave.number)), 'dave: route of one key k1 + k2');
    t.not(profileRoute(carol), hex(serverRouteForNumber(k1, carol.number)));
    t.not(profileRoute(carol), hex(serverRouteForNumber(k2, carol.number)));
    const device = JSON.parse(readFileSync(join(carol.profileDir, 'device.json'), 'utf8')) as { oprfPublicKey: string };
    t.equal(device.oprfPublicKey, hex(combined.publicKey), 'the handset pinned the combined key');

    const rx = await listen(dave, [d.url]);
    t.teardown(() => rx.close());
    await sendText(carol, dave.number, 'split key, same routes', [c.url]); // discovery through both shares
    t.equal((await rx.waitFor(1))[0]!.text, 'split key, same routes');

    // One share swapped: a third gateway pins the same two share keys (the same Challenge) but
    // asks 'rogue', which holds another key, for the second share.
    const swappedShare = await gateway(t, nats.url, [{ id: 'share-a', key: k1 }, { id: 'rogue', key: k2 }]);
    const erin = await registerHandset([swappedShare.url], freshNumber()).catch((e: unknown) => e);
    t.match(erin, { code: 'UNAVAILABLE' }, 'registration: the gateway refuses a share that does not verify');
    const frank = await registerHandset([swappedShare.url], freshNumber()).catch((e: unknown) => e);
    t.match(frank, { code: 'UNAVAILABLE' }, 'and the next registration too (refused for the same reason, not any failure)');
    // Discovery: the gateway relays, the handset checks every share.
    await expectError(t, sendText(dave, freshNumber(), 'x', [swappedShare.url]), PROOF_FAILED, 'handset refuses the swapped share');
    t.match(swappedShare.logs(), /OPRF evaluator reports a key other than the pinned one|did not verify/, 'the operator is told');
  });

  t.test('an evaluator down, then back; an evaluator with a swapped key', async (t) => {
    const gina = await registerHandset([a.url], freshNumber());
    const hank = await registerHandset([a.url], freshNumber());

    // A raw handset that asked for a code while the evaluator was up (verify_start's
    // per-number budget is keyed by the route, so it needs the evaluator too).
    const number = freshNumber();
    const { c, ch, code } = await startVerification(a.url, number);
    t.teardown(() => c.close());
    const { register } = registerBody(ch.nonce, number, code);
    // Down: 'main' stops (started again below, with its key, for the rest of the file).
    await main.close();
    // Down: no responders => UNAVAILABLE at once (the gateway's deadline is 30 s, the
    // SDK's 10-15 s: a wait would end in TIMEOUT, not UNAVAILABLE).
    await expectError(t, registerHandset([a.url], freshNumber()), { code: 'UNAVAILABLE' }, 'register while the evaluator is down');
    // A send retries an UNAVAILABLE lookup until its own deadline (sendTimeoutMs, 30 s by
    // default) and then fails with it: with that default this one send took 30 s, half of
    // the file's time, and a loaded machine pushed the file past tap's 120 s (killed
    // mid-session). 3 s here: a few refusals (no responders: the gateway answers at
    // once), then the gateway's UNAVAILABLE. Since the send's lookups get the send's time
    // left (56af593), a 1 ms deadline ended 'request timed out' when the answer took
    // longer (the clean-clone CI under load); a last try that times out after a refusal
    // now ends with the refusal (client/outgoing.ts retryLookup).
    {
      const client = await HushwireClient.open(gina.profileDir, { receive: false, gateways: [a.url], sendTimeoutMs: 3_000 });
      try {
        await client.connect();
        await expectError(t, client.send(hank.number, 'x'), { code: 'UNAVAILABLE' }, 'discovery while the evaluator is down');
      } finally {
        await client.close();
      }
    }

    // A register refused for that reason keeps its code: the same op succeeds once the
    // evaluator is back (same socket, same nonce, same code).
    c.send([{ req: 2, register }]);
    t.equal((await c.reply(2)).error?.code, 'UNAVAILABLE', 'raw register while down');
    main = await startTestEvaluator({ servers, id: 'main', key: mainKey });
    c.send([{ req: 3, register }]);
    const r3 = await c.reply(3);
    t.same({ body: r3.body, code: r3.error?.code }, { body: 'registered', code: undefined }, 'the same register succeeds once the evaluator is back');
    t.equal(hex(r3.registered!.route), hex(serverRouteForNumber(mainKey, number)));

    // An evaluator with a swapped key: a gateway that pins gina's key but asks 'rogue',
    // which holds another. The handset refuses every answer.
    const swapped = await gateway(t, nats.url, [{ id: 'rogue', key: mainKey }]);
    await expectError(t, sendText(gina, hank.number, 'x', [swapped.url]), PROOF_FAILED, 'handset refuses an evaluation under a swapped key');
    const client = await HushwireClient.open(gina.profileDir, { receive: false, gateways: [swapped.url] });
    t.teardown(() => client.close());
    await client.connect();
    await expectError(t, client.send(hank.number, 'again'), PROOF_FAILED, 'and again: nothing was cached');

    // A handset pointed at a gateway whose evaluators announce another key altogether.
    const g2 = await gateway(t, nats.url, [{ id: 'rogue', key: rogueKey }]);
    await expectError(t, sendText(gina, hank.number, 'x', [g2.url]), { code: 'AUTH_FAILED', message: "gateway's OPRF key does not match the pinned key" }, 'a gateway announcing another key is refused at connect');
  });
});
