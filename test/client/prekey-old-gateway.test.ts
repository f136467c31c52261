// A gateway older than set_prekey (a scripted one: test/client/fake-gateway.ts) answers
// it UNKNOWN_OP: the automatic rotation is never fatal to the connection, keeps its new
// key pending in the profile (the current one stays current), and sends that same key
// again on the next connection rather than making another.
import t from 'tap';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { readDevice } from '../../client/profile-data.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startFakeGateway, until, type FakeConn } from './fake-gateway.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

t.test('UNKNOWN_OP to set_prekey: the connection stays, the key stays pending, the same key is tried on the next connection', async (t) => {
  const real = await startTestGateway({ logLevel: 'warn' });
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [real.url], number: '+15550100181' });
  await real.close();
  const before = await readDevice(store);
  const fake = await startFakeGateway({
    oprfPublicKey: before.oprfPublicKey,
    handler: (conn, op) => {
      if (op.auth) conn.send([{ req: op.req, ok: {} }]);
      else if (op.setPrekey) conn.send([{ req: op.req, error: { code: 'UNKNOWN_OP', message: 'unknown or server-only op' } }]);
      else if (op.evaluate) conn.send([{ req: op.req, error: { code: 'BAD_REQUEST', message: 'not answered here' } }]); // a round trip, below
    },
  });
  t.teardown(() => fake.close());
  // Due at once: the profile's prekey is older than 1 ms.
  const states: string[] = [];
  const c = await HushwireClient.open(store, { gateways: [fake.url], prekeyRotationMs: 1, receive: false, onState: (s) => states.push(s.to) });
  t.teardown(() => c.close());
  await c.connect();
  const first: FakeConn = await fake.waitConn(1);
  await until(() => first.ops.some((o) => o.setPrekey), 10_000, 'a set_prekey on the first connection');
  await until(() => c.connectionState === 'connected', 5_000, 'still connected');
  // The connection stays: once the refused rotation has been handled (its promise
  // settled), a request goes out and is answered on that same socket, and no state
  // change happened. (The state check above alone ran before the answer was read.)
  await until(() => (c as unknown as { rotating: unknown }).rotating === null, 10_000, 'the refused rotation to be handled');
  await c.discover(['+15550100182']).catch(() => undefined);
  t.ok(first.ops.some((o) => o.evaluate), 'a request after the refused rotation went out on the same socket');
  t.same(states.filter((s) => s === 'disconnected' || s === 'closed'), [], 'no disconnect');
  t.equal(fake.conns.length, 1, 'no second socket');
  const mid = await readDevice(store);
  t.equal(bytesToHex(mid.prekeyPublic), bytesToHex(before.prekeyPublic), 'the current prekey is unchanged');
  t.ok(mid.pendingPrekey, 'the new one is kept pending');
  const sent1 = first.ops.find((o) => o.setPrekey)!.setPrekey!;
  t.equal(bytesToHex(sent1.prekey!), bytesToHex(mid.pendingPrekey!.public), 'the pending key is what was sent');

  first.close(1001, 'going away');
  const second = await fake.waitConn(2, 15_000);
  await until(() => second.ops.some((o) => o.setPrekey), 10_000, 'a set_prekey on the next connection');
  t.equal(bytesToHex(second.ops.find((o) => o.setPrekey)!.setPrekey!.prekey!), bytesToHex(mid.pendingPrekey!.public), 'the same pending key again');
  await until(() => c.connectionState === 'connected', 5_000, 'connected again');
  t.equal(bytesToHex((await readDevice(store)).pendingPrekey!.public), bytesToHex(mid.pendingPrekey!.public), 'still the one pending key');
});
