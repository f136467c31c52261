// Per-connection failures of one kind while the bus fails (every connection's mailbox
// drain during a NATS outage or a JetStream leader election; each is retried with
// backoff) are said in at most one warn line per 10 s, with how many happened since the
// last line (`times`), not in one line per connection and retry: 50,000 devices whose
// drains failed were 50,000 lines, and as many again at every retry. In-process gateway
// on the embedded bus whose mailbox reads are made to fail (the bus's own method,
// replaced on the instance), so the failures are counted, not timed. Ops failing
// INTERNAL (an error that is not a HushwireError) are said the same way, at error level.
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { busUnavailable } from '../../relay/bus/common.ts';
import { until } from '../helpers/poll.ts';

const DEVICES = 20;

t.test('failing mailbox drains: a warn line with a count, not one per connection', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  let reads = 0;
  const bus = gw.bus as unknown as { mailboxRead: (...a: unknown[]) => Promise<unknown> };
  bus.mailboxRead = async () => {
    reads++;
    throw busUnavailable('mailbox store unavailable');
  };

  // Each registration authenticates its socket, which drains the device's mailbox.
  const socks: { close(): void }[] = [];
  for (let i = 0; i < DEVICES; i++) socks.push((await registerRaw(gw.url, `+1555077${String(i).padStart(4, '0')}`)).c);
  t.teardown(() => { for (const c of socks) c.close(); });
  await until(`${DEVICES} failed drains`, () => reads >= DEVICES, 20_000);

  const lines = gw.logs().split('\n').filter((l) => l.includes('mailbox drain stopped')).map((l) => JSON.parse(l) as { level: number; times?: number; err?: string });
  t.ok(lines.length >= 1, 'the failure is said');
  t.ok(lines.length < reads, `fewer lines (${lines.length}) than failed drains (${reads})`);
  t.equal(lines[0]?.level, 40, 'at warn');
  t.equal(lines[0]?.times, 1, 'the first line counts the first failure');
  t.equal(lines[0]?.err, 'UNAVAILABLE');
});

t.test('ops failing INTERNAL: one error line with a count, not one per op', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, '+15550779999');
  t.teardown(() => c.close());
  // A fault below the sessions that is not a HushwireError (what a bug, or an error a
  // dependency throws as it comes, looks like): every op that reads the directory fails
  // INTERNAL.
  let reads = 0;
  const bus = gw.bus as unknown as { directoryGet: (...a: unknown[]) => Promise<unknown> };
  bus.directoryGet = async () => {
    reads++;
    throw new TypeError('boom');
  };
  const OPS = 30;
  c.send(Array.from({ length: OPS }, (_, i) => ({ req: 100 + i, lookup: { route: dev.route } })));
  const codes = new Set<string | undefined>();
  for (let i = 0; i < OPS; i++) codes.add((await c.reply(100 + i)).error?.code);
  t.strictSame([...codes], ['INTERNAL'], `all ${OPS} lookups failed INTERNAL`);
  t.ok(reads >= OPS, 'each lookup met the fault');

  const lines = gw.logs().split('\n').filter((l) => l.includes('"op failed"')).map((l) => JSON.parse(l) as { level: number; times?: number; err?: string });
  t.ok(lines.length >= 1, 'the failure is said');
  t.ok(lines.length < OPS, `fewer lines (${lines.length}) than failed ops (${OPS})`);
  t.equal(lines[0]?.level, 50, 'at error');
  t.equal(lines[0]?.times, 1, 'the first line counts the first failure');
  t.equal(lines[0]?.err, 'TypeError', 'naming the error\'s kind');
});
