// Prekey rotation and opt-out on one client: unregister() on a profile whose prekey is
// due (the connect it makes starts the automatic rotation) must not rotate meanwhile
// (a set_prekey racing the unregister op), nor wait on a rotation that waits for the
// profile lock unregister itself holds (PROFILE_LOCK_WAIT_MS, 10 s, on a directory
// profile). Real gateway on a real nats-server.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import type { Test } from 'tap';

const skip = !haveNatsServer() && 'nats-server not installed';
const DAY = 86_400_000;

const natsGateway = (t: Test) => natsTestGateway(t, 'pku');

async function rotationOps(gw: TestGateway): Promise<number> {
  const m = await fetch(gw.url.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics')).then((r) => r.text());
  let n = 0;
  for (const [, v] of m.matchAll(/^hushwire_prekey_rotations_total\{outcome="[a-z_]+"\} (\d+)$/gm)) n += Number(v);
  return n;
}

t.test('unregister() on a profile whose prekey is due sends no set_prekey', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  // Eight days later: the 7-day rotation is due on the connect unregister() makes.
  const c = await HushwireClient.open(a, { receive: false, clock: () => Date.now() + 8 * DAY });
  await c.unregister();
  t.equal(await a.read('device.json'), undefined, 'opted out');
  t.equal(await rotationOps(gw), 0, 'no set_prekey reached the gateway');
});

t.test('unregister() on a directory profile whose prekey is due does not wait for its own lock', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const dir = mkdtempSync(join(tmpdir(), 'hw-prekeyrev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const profile = join(dir, 'p');
  await HushwireClient.register({ profileDir: profile, gateways: [gw.url], number: freshNumber() });
  const c = await HushwireClient.open(profile, { receive: false, clock: () => Date.now() + 8 * DAY });
  // A rotation queued behind unregister's lock would hold close() until the lock wait
  // (10 s) ran out; the state change says whether one started.
  let rotationStarted = false;
  const orig = (c as unknown as { rotate: (f: boolean) => Promise<void> }).rotate.bind(c);
  (c as unknown as { rotate: (f: boolean) => Promise<void> }).rotate = (f: boolean) => {
    rotationStarted = true;
    return orig(f);
  };
  await c.unregister();
  t.equal(rotationStarted, false, 'no rotation started during the opt-out');
  t.equal(await rotationOps(gw), 0, 'no set_prekey reached the gateway');
});

t.test('rotatePrekey() during unregister() is refused at once, and none after it', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  const c = await HushwireClient.open(a, { receive: false, prekeyRotationMs: 0 });
  await c.connect();
  const un = c.unregister();
  const rot = c.rotatePrekey().then(() => 'rotated', (e: { code?: string }) => e.code);
  await un;
  t.equal(await rot, 'NOT_REGISTERED', 'refused: the device is opting out');
  t.equal(await rotationOps(gw), 0, 'no set_prekey reached the gateway');
  t.equal(await a.read('device.json'), undefined, 'opted out, no key written back');
});
