// A registration the profile cannot keep must not stay registered at the relay, against
// a real (embedded) gateway: two registrations of one profile at once (a double tap),
// a store that fails to write device.json, and a device.json written by another process
// meanwhile. Each used to leave a device in the directory with keys nobody holds (it
// counts against the number's devices, and senders seal to it).
import t from 'tap';
import { join } from 'node:path';
import { HushwireClient, MemoryStore, ErrorCode, type ProfileRecord } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

async function setup(t: Tap) {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const observer = new MemoryStore();
  await HushwireClient.register({ store: observer, gateways: [gw.url], number: '+15550108860' });
  const client = await HushwireClient.open(observer, { receive: false });
  t.teardown(() => client.close());
  await client.connect();
  /** How many devices the directory lists for `number`. */
  const devices = async (number: string) => (await client.discover([number])).get(number)!.devices;
  return { gw, devices };
}
type Tap = { teardown: (fn: () => unknown) => void };

t.test('two registrations of one profile at once: one wins, the other is refused before registering anything', async (t) => {
  const { gw, devices } = await setup(t);
  const N = '+15550108861';
  const store = new MemoryStore();
  const results = await Promise.allSettled([1, 2].map(() => HushwireClient.register({ store, gateways: [gw.url], number: N })));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one registration');
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.equal(refused.reason.code, ErrorCode.BAD_REQUEST);
  t.match(refused.reason.message, /already in progress/);
  t.equal(await devices(N), 1, 'one device at the relay, the one the profile holds');

  const M = '+15550108862';
  const dir = join(tempDir('hw-reg-'), 'p');
  const both = await Promise.allSettled([1, 2].map(() => HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: M })));
  t.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'a directory likewise');
  t.equal(await devices(M), 1);
  const c = await HushwireClient.open(dir);
  t.teardown(() => c.close());
  await c.connect();
  t.equal(c.connectionState, 'connected', 'the profile holds the registered device');
});

t.test('a store that cannot write device.json: the device is taken back at the relay', async (t) => {
  const { gw, devices } = await setup(t);
  const N = '+15550108863';
  class Failing extends MemoryStore {
    override async write(record: ProfileRecord, text: string): Promise<void> {
      if (record === 'device.json') throw new Error('disk full');
      return super.write(record, text);
    }
  }
  await t.rejects(HushwireClient.register({ store: new Failing(), gateways: [gw.url], number: N }), { message: 'disk full' });
  t.equal(await devices(N), 0, 'nothing left registered');
});

t.test('a device.json another process wrote meanwhile: this registration is refused and taken back', async (t) => {
  const { gw, devices } = await setup(t);
  const N = '+15550108864';
  const winner = new MemoryStore();
  await HushwireClient.register({ store: winner, gateways: [gw.url], number: N });
  const winnerDevice = await winner.read('device.json');
  class Raced extends MemoryStore {
    reads = 0;
    override async read(record: ProfileRecord): Promise<string | undefined> {
      // The first look finds no device; by the time of the write, another process wrote one.
      if (record === 'device.json' && this.reads++ === 1) await super.write('device.json', winnerDevice!);
      return super.read(record);
    }
  }
  const raced = new Raced();
  await t.rejects(HushwireClient.register({ store: raced, gateways: [gw.url], number: N }), {
    code: ErrorCode.BAD_REQUEST,
    message: /registered by another registration meanwhile/,
  });
  t.equal(await raced.read('device.json'), winnerDevice, 'the other registration\'s device.json is kept');
  t.equal(await devices(N), 1, 'only the device the profile holds is registered');
});
