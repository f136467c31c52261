// Acceptance: the gateway holding B is killed with SIGKILL after A's send was
// acknowledged; B reconnects to the other gateway and still receives the message.
// Gateways run as child processes (`hushwire gateway --nats ...`) so they can really die.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { connectRaw } from '../helpers/raw.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  const gwArgs = ['--nats', server.url, '--oprf-key-file', key, '--live-timeout-ms', '1000', '--log-level', 'warn'];

  t.test('B offline: its home gateway dies; B gets its mail through the other', async (t) => {
    const g1 = await spawnGateway([...gwArgs, '--transport', 'ws']);
    const g2 = await spawnGateway([...gwArgs]);
    t.teardown(async () => { await g1.kill('SIGKILL'); await g2.kill('SIGKILL'); });
    const a = await registerHandset([g1.url], '+15557770001');
    const b = await registerHandset([g2.url, g1.url], '+15557770002');
    const r = await sendText(a, b.number, 'survives a dead gateway');
    t.equal(r.status, 'stored');
    t.equal(await g2.kill('SIGKILL'), null, 'gateway 2 killed by signal');
    const lb = await listen(b, [g2.url, g1.url]);
    const [m] = await lb.waitFor(1, 20_000);
    t.equal(m!.text, 'survives a dead gateway');
    t.equal(m!.from, a.number);
    await lb.close();
  });

  t.test('B connected to gateway 2, which dies after A was acknowledged', async (t) => {
    const g1 = await spawnGateway([...gwArgs, '--transport', 'ws']);
    const g2 = await spawnGateway([...gwArgs]);
    t.teardown(async () => { await g1.kill('SIGKILL'); await g2.kill('SIGKILL'); });
    const a = await registerHandset([g1.url], '+15557770003');
    const b = await registerHandset([g2.url, g1.url], '+15557770004');

    // B's socket is held by gateway 2 and receives the envelope but never acks it (a
    // handset that lost power mid-delivery). After --live-timeout-ms the relay stores it.
    const dev = JSON.parse(readFileSync(join(b.profileDir, 'device.json'), 'utf8')) as Record<string, string>;
    const route = hexToBytes(dev.route!);
    const device = hexToBytes(dev.device!);
    const raw = await connectRaw(g2.url);
    const ch = (await raw.next((o) => o.body === 'challenge')).challenge!;
    raw.send([{ req: 1, auth: { route, device, signature: sign(hexToBytes(dev.identitySecret!), authInput(ch.nonce, route, device)) } }]);
    t.equal((await raw.reply(1)).body, 'ok', 'B authenticated on gateway 2');

    const r = await sendText(a, b.number, 'acknowledged before the crash');
    t.equal(r.status, 'stored', 'A acknowledged (stored after the live timeout)');
    t.ok(raw.ops.some((o) => o.body === 'deliver'), 'gateway 2 had handed it to B');

    t.equal(await g2.kill('SIGKILL'), null, 'gateway 2 killed by signal');
    await raw.closed;
    const lb = await listen(b, [g2.url, g1.url]);
    const got = await lb.waitFor(1, 20_000);
    t.equal(got[0]!.text, 'acknowledged before the crash');
    t.same(await lb.quiet(1000), [], 'exactly once');
    await lb.close();
  });
}
