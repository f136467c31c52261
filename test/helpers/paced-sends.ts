// The SDK's send pacer against a real gateway (test/client/send-pacing.test.ts,
// test/client/send-op-pacing.test.ts): recipient B driven with the raw protocol, sender A
// an SDK client with B looked up before its queue, and the check that a queue of sends
// arrived each exactly once.
import type { Test } from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HushwireClient, MemoryStore, type ClientOptions } from '../../client/index.ts';
import { openEnvelope } from '../../relay/crypto/seal.ts';
import { registerRaw, authenticateRaw, type RawDevice } from './raw-device.ts';
import type { RawClient } from './raw.ts';
import { freshNumber } from './handsets.ts';

/** Recipient B (registered and connected with the raw protocol, acking nothing unless
 *  the test does) and sender A (an SDK client: send-only, no automatic own-number check
 *  or prekey rotation, `options` on top) on the gateway at `url`, connected, with B's
 *  route and devices looked up (and kept) before the test's queue. Closed at its end. */
export async function senderAndRawRecipient(t: Test, url: string, options: Omit<ClientOptions, 'receive'> = {}) {
  const B = freshNumber();
  const { c: bReg, dev: b } = await registerRaw(url, B);
  bReg.close();
  await bReg.closed;
  const bConn = await authenticateRaw(url, b);
  t.teardown(async () => { bConn.close(); await bConn.closed; });
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [url], number: freshNumber() });
  const client = await HushwireClient.open(store, { receive: false, ownDevicesCheckMs: 0, prekeyRotationMs: 0, ...options });
  t.teardown(() => client.close());
  await client.connect();
  await client.discover([B]);
  return { B, b, bConn, client };
}

/** The envelopes the gateway handed B so far. */
export function deliveries(bConn: RawClient) {
  return bConn.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes);
}

/** B acks every delivery as it comes, checking every 20 ms from now until `stop()` or
 *  `t`'s end; `ackNew()` acks what came so far at once. */
export function ackEveryDelivery(t: Test, bConn: RawClient): { ackNew(): void; stop(): void } {
  let acked = 0;
  const ackNew = (): void => {
    const envs = deliveries(bConn);
    if (envs.length > acked) {
      bConn.send([{ req: 0, deliverAck: { ids: envs.slice(acked).map((e) => e.id) } }]);
      acked = envs.length;
    }
  };
  const acking = setInterval(ackNew, 20);
  t.teardown(() => clearInterval(acking));
  return { ackNew, stop: () => clearInterval(acking) };
}

/** Checks that the N sends that resolved `results` reached B each exactly once: N
 *  envelopes, the ids the sends resolved with, each text m0..m(N-1) once, and (a retry
 *  reuses its envelope) N sequence numbers in a row, none skipped or taken twice, so the
 *  recipient's per-sender ordering is as without refusals. */
export function checkEachArrivedOnce(t: Test, results: { id: string }[], bConn: RawClient, b: RawDevice): void {
  const N = results.length;
  const envs = deliveries(bConn);
  const ids = envs.map((e) => bytesToHex(e.id));
  t.equal(ids.length, N, 'B was handed N envelopes: none twice');
  t.same([...ids].sort(), results.map((r) => r.id).sort(), 'exactly the ids the sends resolved with');
  // Delivered envelopes carry no route and device: the recipient fills in its own.
  const opened = envs.map((e) => openEnvelope({ ...e, route: b.route, device: b.device }, { route: b.route, device: b.device, prekeySecret: b.prekey.secretKey }));
  t.same(opened.map((o) => new TextDecoder().decode(o.body)).sort(), Array.from({ length: N }, (_, i) => `m${i}`).sort(), 'each text once');
  const seqs = opened.map((o) => o.seq).sort((x, y) => x - y);
  t.same(seqs, Array.from({ length: N }, (_, i) => seqs[0]! + i), 'sequence numbers N in a row');
}
