// Against running gateways, a registration whose answer did not reach the bench by its
// deadline may have been made all the same: the gateway registered the device under a
// route only its answer would have told. It was never opted out: bench devices left in
// a real deployment's directory. Now such a device is registered again at the clean-up
// (same device id and keys: its entry is replaced, and the answer gives the route) and
// opted out.
//
// Reproduced with a TCP relay between the bench and the gateway that stops passing the
// gateway's bytes once the register request went through: the gateway registers the
// device, its answer never arrives, the bench's deadline passes.
import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { makeDevices, registerDevices, optOutUnanswered, RegistrationUnanswered } from '../../bench/devices.ts';
import { deriveServerKey, serverRouteForNumber } from '../../relay/crypto/oprf.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import type { HwDevice } from '../../bench/types.ts';
import { spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { connectRaw } from '../helpers/raw.ts';
import { until } from '../helpers/poll.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(120_000);

/** A loopback TCP relay to `port` that, on its first `connections` connections, passes
 *  the server's bytes only until the client has written `clientWrites` times (the
 *  upgrade, verify_start, register): what the server says after that is dropped. Later
 *  connections pass everything. */
async function answerEater(port: number, clientWrites: number, connections = Infinity): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    const eats = ++n <= connections;
    let writes = 0;
    client.on('data', (d) => { writes++; upstream.write(d); });
    upstream.on('data', (d) => { if (!eats || writes < clientWrites) client.write(d); });
    const end = (): void => { client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { url: `ws://127.0.0.1:${addr.port}/ws`, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

async function registrations(wsUrl: string): Promise<number> {
  const text = await (await fetch(wsUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'), { signal: AbortSignal.timeout(5000) })).text();
  return Number(/^hushwire_registrations_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** Whether the gateway's directory holds `d` under `route`: it authenticates it. */
async function authenticates(url: string, d: HwDevice, route: Uint8Array): Promise<boolean> {
  const c = await connectRaw(url);
  try {
    const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
    c.send([{ req: 1, auth: { route, device: d.device, signature: sign(d.identitySecret, authInput(ch.nonce, route, d.device)) } }]);
    const r = await c.reply(1);
    if (r.body === 'ok') return true;
    if (r.error?.code === 'AUTH_FAILED') return false;
    throw new Error(`auth: ${JSON.stringify(r.error)}`);
  } finally {
    c.close();
  }
}

t.test('registrations whose answer never came are opted out at the clean-up', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const keyFile = oprfKeyFile();
  const key = deriveServerKey(new Uint8Array(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex')));
  const gw = await spawnGateway(['--nats', nats.url, '--oprf-key-file', keyFile]);
  t.teardown(() => gw.kill());
  const relay = await answerEater(Number(new URL(gw.url).port), 3);
  t.teardown(() => relay.close());

  const devices = makeDevices([1, 1, 1], false);
  const unanswered: HwDevice[] = [];
  const registered: HwDevice[] = [];
  await t.rejects(registerDevices(relay.url, devices, {
    // Long enough for the gateway to finish the registrations on a loaded machine (its
    // OPRF worker starts at the first one): a connection closed before a registration
    // finished has it removed again (Privacy.eraseUnfinished), and then nothing was made.
    timeoutMs: 8000, onRegistered: (d) => registered.push(d), onUnanswered: (d) => unanswered.push(d),
  }), RegistrationUnanswered, 'the bench gave up waiting');
  t.equal(registered.length, 0);
  t.equal(unanswered.length, 3, 'every registration sent went unanswered');
  // The gateway made them: the devices the bench gave up on are in its directory.
  await until('the registrations to be made', async () => (await registrations(gw.url)) === 3, 30_000);
  const routes = devices.map(([d]) => serverRouteForNumber(key, d!.number));
  for (const [i, [d]] of devices.entries()) t.ok(await authenticates(gw.url, d!, routes[i]!), `device ${i} is in the directory though the bench never heard so`);

  const r = await optOutUnanswered(gw.url, unanswered, { timeoutMs: 10_000 });
  t.same(r, { optedOut: 3, failed: 0 });
  for (const [i, [d]] of devices.entries()) t.notOk(await authenticates(gw.url, d!, routes[i]!), `device ${i} is gone from the directory`);
});

t.test('hushwire bench --gateway: the workload\'s clean-up opts them out and says so', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const keyFile = oprfKeyFile();
  const gw = await spawnGateway(['--nats', nats.url, '--oprf-key-file', keyFile]);
  t.teardown(() => gw.kill());
  // The three registrations' answers are lost; the clean-up's connections pass.
  const relay = await answerEater(Number(new URL(gw.url).port), 3, 3);
  t.teardown(() => relay.close());
  // The bench waits 20 s for each registration's answer.
  const r = await bench(['--gateway', relay.url, '--gateway-metrics', 'none', '--peers', 'none', '--workload', 'storm', '--devices', '3', '--workers', '1'], 90_000);
  t.equal(r.code, 1, `the workload failed (stderr: ${r.stderr.slice(-600)})`);
  t.match(r.stderr, /^ {3}0 bench devices unregistered; 3 whose registration went unanswered \(the gateway may have made them\): 3 registered again and opted out \([\d,]+ ms\)$/m);
  t.equal(await registrations(gw.url), 6, 'made by the first registrations and again by the clean-up');
  const text = await (await fetch(gw.url.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'), { signal: AbortSignal.timeout(5000) })).text();
  t.equal(Number(/^hushwire_unregistrations_total (\S+)$/m.exec(text)?.[1]), 3, 'and all three opted out');
});
