// Fault: a handset that stops reading. Its device S authenticates and then its TCP
// socket is paused (it reads nothing more), while A sends it large messages and A2 sends
// small ones to B on the same gateway. The gateway must close S with 4004 once S's send
// buffer is over --max-backpressure-bytes, B's messages must keep flowing meanwhile
// (all of them arrive while S is still stuck), and every message acknowledged to A
// (stored: S never acked anything) must reach S exactly once when it reconnects.
// On both transports: their backpressure paths differ (gateway/transport/*.ts).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket as NetSocket } from 'node:net';
import { hexToBytes } from '@noble/hashes/utils.js';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerHandset, type Handset } from '../helpers/handsets.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { until } from '../helpers/poll.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { CloseCode } from '../../relay/errors.ts';
import { sendMany, openReceiver, assertExactlyOnce } from './traffic.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];
const BIG = 40_000; // characters: pads to the 64 KiB bucket, ~65 kB per envelope

/** Authenticates as the handset's device on a raw socket (it will never ack). */
async function rawAs(url: string, h: Handset): Promise<RawClient> {
  const dev = JSON.parse(readFileSync(join(h.profileDir, 'device.json'), 'utf8')) as Record<string, string>;
  const route = hexToBytes(dev.route!);
  const device = hexToBytes(dev.device!);
  const raw = await connectRaw(url);
  const ch = (await raw.next((o) => o.body === 'challenge')).challenge!;
  raw.send([{ req: 1, auth: { route, device, signature: sign(hexToBytes(dev.identitySecret!), authInput(ch.nonce, route, device)) } }]);
  const r = await raw.reply(1);
  if (r.body !== 'ok') throw new Error('raw auth failed');
  return raw;
}

// Whole-file deadline (default 120 s): a fault run under a loaded CI machine takes longer.
t.setTimeout(300_000);

for (const [i, transport] of transports.entries()) {
  t.test(`a handset that stops reading is closed 4004 without slowing others (${transport})`, async (t) => {
    const gw = await startTestGateway({ transport, liveTimeoutMs: 500, maxBackpressureBytes: 65_536, logLevel: 'warn' });
    t.teardown(() => gw.close());
    const s = await registerHandset([gw.url], `+1555203${i}001`);
    const b = await registerHandset([gw.url], `+1555203${i}002`);
    const a = await registerHandset([gw.url], `+1555203${i}003`);
    const a2 = await registerHandset([gw.url], `+1555203${i}004`);
    const rb = await openReceiver(b, [gw.url]);
    t.teardown(() => rb.close());

    const stuck = await rawAs(gw.url, s);
    const tcp = (stuck.ws as unknown as { _socket: NetSocket })._socket;
    tcp.pause(); // reads nothing from now on: the kernel buffers fill, then the gateway's

    const toS = sendMany(a, s.number, { gateways: [gw.url], count: 150, label: `big-${transport}`, concurrency: 8, padding: BIG });
    const toB = await sendMany(a2, b.number, { gateways: [gw.url], count: 60, label: `small-${transport}`, concurrency: 2 });
    t.equal(toB.acked.size, 60, 'every send to B was acknowledged');
    await rb.waitForIds(toB.acked.keys(), 30_000);
    t.pass("B's messages all arrived while S was stuck");

    await until('the gateway to drop S as a slow consumer', async () => ((await gw.metrics.sendDrops.get()).values[0]?.value ?? 0) >= 1, 60_000);
    t.pass('send buffer over its bound: the gateway closed S');
    tcp.resume();
    const { code } = await stuck.closed;
    // uWS queues the close frame behind the buffered data; ws does too, within its close
    // grace (then it drops the connection: 1006). Either way S did not ack anything.
    t.ok(code === CloseCode.SLOW_CONSUMER || (transport === 'ws' && code === 1006), `S saw close ${code}`);

    const outS = await toS;
    t.ok(outS.acked.size >= 100, `most sends to S were acknowledged (${outS.acked.size})`);
    t.comment(`to S: acknowledged ${outS.acked.size}, gave up ${outS.failed.length}: ${JSON.stringify(outS.failed.slice(0, 3))}`);

    // S comes back as a well-behaved handset: its mailbox holds everything acknowledged.
    const rs = await openReceiver(s, [gw.url]);
    t.teardown(() => rs.close());
    await rs.waitForIds(outS.acked.keys(), 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    assertExactlyOnce(t, rs, [outS]);
    await new Promise((r) => setTimeout(r, 200));
    assertExactlyOnce(t, rb, [toB]);
  });
}
