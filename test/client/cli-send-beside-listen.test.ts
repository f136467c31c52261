// `hushwire send` beside a running `hushwire listen` on the same profile (README "Try
// it", CLIENT.md "The CLI on top"): send connects send-only (Auth.send_only), so it does
// not take the device from the listen. Before, the send kicked the listen (4003), which
// took the device back after 2-3 s; a send to the profile's own number always failed
// there (exit 5): its copy for this device went to the send's own connection, which does
// not read, and the gateway waited its 5 s live timeout. Also the SDK's receive: false
// (a send-only client is handed nothing) and the per-device bound on send-only
// connections, against a real gateway.
import t from 'tap';
import { HushwireClient } from '../../client/index.ts';
import { hushwire, cliProfiles, startHushwire } from '../helpers/cli.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { until, within } from '../helpers/poll.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { MAX_SEND_ONLY_PER_DEVICE } from '../../relay/relay.ts';
import type { Session } from '../../relay/session.ts';

t.setTimeout(180_000);

const A = '+15550100061';
const B = '+15550100062';

/** Sockets the gateway closed with this close code's name so far. */
async function closedWith(gw: TestGateway, name: string): Promise<number> {
  return (await gw.metrics.closes.get()).values.find((v) => v.labels.code === name)?.value ?? 0;
}

/** Receiving (not send-only) authenticated sessions on the gateway. */
function receivingSessions(gw: TestGateway): Session[] {
  return [...gw.relay.sessions()].filter((s) => s.authenticated && !s.sendOnly);
}
const receiving = (gw: TestGateway): number => receivingSessions(gw).length;

t.test('send beside a running listen on the same profile: to its own number and to another; the listen is never kicked', async (t) => {
  const { gw, profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-sendonly-');
  const listen = startHushwire(t, ['listen', '--profile', a!, '--count', '2', '--timeout', '90']);
  const { exited } = listen;
  await until('listen to be connected', () => receiving(gw) === 1, 30_000);
  const kicksBefore = await closedWith(gw, 'CONNECTED_ELSEWHERE');
  const listenSession = receivingSessions(gw)[0]!;

  // A note to self from the listen's own profile: exit 0, and the listen prints it.
  const self = await hushwire(['send', '--profile', a!, '--to', A, 'note to self'], { timeoutMs: 60_000 });
  t.equal(self.code, 0, `a send to the profile's own number beside its listen succeeds (stderr: ${self.stderr})`);
  t.match(JSON.parse(self.stdout), { status: 'delivered' }, 'delivered live to the listen');
  await until('listen printing the note', () => listen.stdout().includes('note to self'), 20_000);

  // An ordinary send from the same profile, then one from the other profile to it.
  const out = await hushwire(['send', '--profile', a!, '--to', B, 'to bob'], { timeoutMs: 60_000 });
  t.equal(out.code, 0, out.stderr);
  // (the listen waits for its second message: it is still connected)
  const now = receivingSessions(gw);
  t.ok(now.length === 1 && now[0] === listenSession, 'the listen kept its one connection through both sends (no reconnect)');
  const toA = await hushwire(['send', '--profile', b!, '--to', A, 'from bob'], { timeoutMs: 60_000 });
  t.equal(toA.code, 0, toA.stderr);

  t.equal(await within(exited, 60_000, 'listen ending after --count 2'), 0, `listen exits 0 (stderr: ${listen.stderr()})`);
  const lines = listen.stdout().trim().split('\n').map((l) => JSON.parse(l) as { text: string; from: string });
  t.same(lines.map((l) => l.text), ['note to self', 'from bob'], 'listen printed both, in order');
  t.equal(lines[0]!.from, A);
  t.equal(await closedWith(gw, 'CONNECTED_ELSEWHERE'), kicksBefore, 'nobody was closed 4003: the listen was never taken over');
});

t.test('SDK receive: false is send-only: handed nothing, messages() refused, at most 4 per device per gateway', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const alice = await registerHandset([gw.url], '+15550100063');
  const bob = await registerHandset([gw.url], '+15550100064');
  const sender = await HushwireClient.open(alice.profileDir, { receive: false });
  t.teardown(() => sender.close());
  await sender.connect();

  // Bob is connected only send-only: a message to him is stored (not handed to that
  // connection, which would not ack it: the gateway would wait its live timeout first).
  const bobSend = await HushwireClient.open(bob.profileDir, { receive: false });
  t.teardown(() => bobSend.close());
  await bobSend.connect();
  t.equal(receiving(gw), 0, 'no receiving session on the gateway');
  const liveOut = async () => (await gw.metrics.envelopesOut.get()).values.find((v) => v.labels.path === 'live')?.value ?? 0;
  const before = await liveOut();
  const r = await sender.send('+15550100064', 'kept for later');
  t.equal(r.status, 'stored');
  t.equal(await liveOut(), before, 'nothing was written to the send-only connection');
  t.throws(() => bobSend.messages()[Symbol.asyncIterator]().next(), { code: ErrorCode.BAD_REQUEST });

  // The bound: bobSend holds one slot; fill the rest, one more is refused.
  const held: HushwireClient[] = [bobSend];
  for (let i = 1; i < MAX_SEND_ONLY_PER_DEVICE; i++) {
    const c = await HushwireClient.open(bob.profileDir, { receive: false, connectAttempts: 1 });
    t.teardown(() => c.close());
    await c.connect();
    held.push(c);
  }
  const waits: number[] = [];
  const over = await HushwireClient.open(bob.profileDir, {
    receive: false, connectAttempts: 2,
    onState: (c) => { if (c.to === 'disconnected' && c.delayMs !== undefined) waits.push(c.delayMs); },
  });
  t.teardown(() => over.close());
  // Its give-up says why (the gateway's RATE_LIMITED answer), not 'auth failed', which
  // reads as a wrong key or a wrong gateway.
  await t.rejects(over.connect(), { code: ErrorCode.UNAVAILABLE, message: /send-only connections/ }, 'one more send-only client cannot connect, saying why');
  // Between its two attempts it waited the gateway's retry_after_ms (1 s), not the first
  // backoff step (0-250 ms), which spent a CLI send's attempts before any slot could free.
  t.equal(waits.length, 1, 'one wait between the two attempts');
  t.ok(waits[0]! >= 1_000, `the wait honours retry_after_ms (${waits[0]} ms)`);
  await over.close();
  // A reader still connects, and still gets the stored message.
  const reader = await HushwireClient.open(bob.profileDir);
  t.teardown(() => reader.close());
  await reader.connect();
  const it = reader.messages()[Symbol.asyncIterator]();
  const m = await within(it.next(), 20_000, 'the stored message');
  t.equal(m.done, false);
  t.equal(m.value?.text, 'kept for later');
  for (const c of held) t.equal(c.connectionState, 'connected', 'the send-only clients were not kicked by the reader');
  for (const c of held) await c.close();
  await reader.close();
});
