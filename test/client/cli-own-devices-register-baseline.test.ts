// The own number's baseline is taken at registration: `hushwire register` looks its own
// number up right after the register and keeps the devices listed then in keys.json.
// Before, the first `listen` took it, trusting the gateway's new_device notice to tell a
// device registered in between (an attacker's, or one an operator lists under the
// number): a gateway that sent no notice had that device taken into the baseline
// silently. Real gateway (in-process, its notices or lookups stubbed), the CLI as a user
// runs it.
import t from 'tap';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { hushwire, cliProfiles } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { HushwireClient, MemoryStore, type ProfileRecord } from '../../client/index.ts';

t.setTimeout(240_000);

const listen = (profile: string) => hushwire(['listen', '--profile', profile, '--timeout', '4']);
const register = (gw: TestGateway, number: string, profile: string) => hushwire(['register', '--gateway', gw.url, '--number', number, '--profile', profile]);
const TOLD = /notice: your own number lists other devices now \(1 device\(s\) added\); if that was not you, your number may have been taken over/;

/** A gateway that sends no new_device notice (a dishonest one, or one whose notice was
 *  lost): nothing is announced, live or stored. */
function suppressNotices(gw: TestGateway): void {
  (gw.relay.privacy as unknown as { announceNewDevice: () => Promise<void> }).announceNewDevice = async () => {};
}

/** The number of device keys keys.json keeps per contact (the own number is its only one here). */
function keptDevices(profile: string): number[] {
  const raw = JSON.parse(readFileSync(join(profile, 'keys.json'), 'utf8')) as { contacts: Record<string, { keys: Record<string, string> }> };
  return Object.values(raw.contacts).map((c) => Object.keys(c.keys).length);
}

t.test('a device registered between this one\'s registration and its first listen, with no new_device notice, is told at that listen', async (t) => {
  const A = '+15550100381';
  const { gw, profiles: [a1] } = await cliProfiles(t, [A], 'hw-cli-regbase-');
  t.same(keptDevices(a1!), [1], 'the baseline kept at registration: this device alone');
  suppressNotices(gw);
  const evil = join(tempDir('hw-cli-regbase-more-'), 'evil');
  t.equal((await register(gw, A, evil)).code, 0);
  const first = await listen(a1!);
  t.notMatch(first.stderr, /another device registered this number/, 'the gateway sent no notice');
  t.match(first.stderr, TOLD, `the device listed after the registration is told all the same (stderr: ${first.stderr})`);
  const again = await listen(a1!);
  t.notMatch(again.stderr, /other devices now/, `told once (stderr: ${again.stderr})`);
});

t.test('a second phone\'s baseline, taken at its registration, is the first phone: not told', async (t) => {
  const B = '+15550100382';
  const { gw, profiles: [b1] } = await cliProfiles(t, [B], 'hw-cli-regbase2-');
  suppressNotices(gw);
  const b2 = join(tempDir('hw-cli-regbase2-more-'), 'b2');
  t.equal((await register(gw, B, b2)).code, 0);
  t.same(keptDevices(b2), [2], 'the second phone\'s baseline: both phones');
  const second = await listen(b2);
  t.notMatch(second.stderr, /taken over|other devices now/, `the second phone's first listen is quiet (stderr: ${second.stderr})`);
  // The first phone's own baseline (itself) was taken at its registration: the second
  // phone came later, and is told there though the gateway sent no notice.
  t.match((await listen(b1!)).stderr, TOLD, 'the first phone is told of the second');
});

t.test('a failed own lookup at registration: registered all the same, no baseline kept, the first listen takes it as before', async (t) => {
  const C = '+15550100383';
  const { gw } = await cliProfiles(t, [], 'hw-cli-regbase3-');
  const privacy = gw.relay.privacy as unknown as { lookupOne: (...a: unknown[]) => Promise<unknown> };
  const lookupOne = privacy.lookupOne;
  privacy.lookupOne = async () => { throw new Error('directory down (test)'); };
  const dir = tempDir('hw-cli-regbase3-more-');
  const c1 = join(dir, 'c1');
  const r = await register(gw, C, c1);
  privacy.lookupOne = lookupOne;
  t.equal(r.code, 0, `registered (stderr: ${r.stderr})`);
  t.match(r.stdout, /"status":"registered"/);
  t.equal(r.stderr, '', 'nothing said: the baseline is best effort');
  t.notOk(existsSync(join(c1, 'keys.json')), 'no baseline kept');
  // As before: a device registered after it, with the gateway's notice, is told at the
  // first listen (the notice came first); the listen keeps the baseline then.
  const c2 = join(dir, 'c2');
  t.equal((await register(gw, C, c2)).code, 0);
  const first = await listen(c1);
  t.match(first.stderr, /notice: another device registered this number at/, 'the gateway\'s notice');
  t.match(first.stderr, TOLD, 'told, the notice having come first');
  t.same(keptDevices(c1), [2], 'the first listen kept the baseline');
});

t.test('SDK: a keys.json that cannot be written is told to onStoreError and the registration stands; a lookup with no answer ends at requestTimeoutMs', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  class NoKeys extends MemoryStore {
    override async write(name: ProfileRecord, text: string): Promise<void> {
      if (name === 'keys.json') throw new Error('disk full (test)');
      return super.write(name, text);
    }
  }
  const store = new NoKeys();
  const told: unknown[] = [];
  const r = await HushwireClient.register({ store, gateways: [gw.url], number: '+15550100384', onStoreError: (e) => told.push(e) });
  t.match(r.device, /^[0-9a-f]{32}$/, 'registered');
  t.equal(told.length, 1, 'told once');
  t.match(String((told[0] as Error).message), /disk full/, 'the store\'s error');
  t.equal(await store.read('keys.json'), undefined, 'no baseline kept');
  t.ok(await store.read('device.json'), 'the device is kept');

  // The directory never answers the own lookup: the registration ends within its own
  // request deadline, registered, with no baseline (and nothing told: not a store error).
  const privacy = gw.relay.privacy as unknown as { lookupOne: (...a: unknown[]) => Promise<unknown> };
  privacy.lookupOne = () => new Promise(() => {});
  const slow = new MemoryStore();
  const quiet: unknown[] = [];
  const r2 = await HushwireClient.register({ store: slow, gateways: [gw.url], number: '+15550100385', requestTimeoutMs: 3_000, onStoreError: (e) => quiet.push(e) });
  t.match(r2.device, /^[0-9a-f]{32}$/, 'registered');
  t.equal(await slow.read('keys.json'), undefined, 'no baseline kept');
  t.same(quiet, [], 'nothing told');
});
