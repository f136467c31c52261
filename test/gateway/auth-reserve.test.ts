// A gateway on NATS whose nats-server stalls (SIGSTOP on the PID this test started;
// SIGCONT by a timer and at teardown) while a device sends to an offline recipient:
// the stored sends' directory reads fill the non-reserved part of the bus's JetStream
// request pool (made small for the test: relay/bus/nats-requests.ts) and the rest of
// them fail UNAVAILABLE at once, yet another device still logs in, because the
// session's directory read is an authentication's (relay/session.ts) and may use the
// reserve. /metrics and the log say which class was refused.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { resolveConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/server.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { haveNatsServer, stallNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { oprfKeyFile } from '../helpers/gateway.ts';
import { authenticate, envelopeFor, httpGet, sample, seedDevice, until } from '../ops/fixtures.ts';
import type { RawClient } from '../helpers/raw.ts';

/** 16 requests in flight, 8 of them only for authentications (the other 8 hold the
 *  start's permission probes of a one-shard mailbox). */
const POOL = { maxPending: 16, authReserve: 8 };
const OTHER_MAX = POOL.maxPending - POOL.authReserve;
/** More sends than the non-reserved part holds. */
const SENDS = OTHER_MAX + 4;
/** The longest nats-server stays stopped (then SIGCONT regardless). */
const STALL_MAX_MS = 20_000;

interface Outcome<T> { settled: boolean; value?: T; error?: unknown; done: Promise<void> }
function follow<T>(p: Promise<T>): Outcome<T> {
  const o: Outcome<T> = { settled: false, done: Promise.resolve() };
  o.done = p.then((v) => { o.settled = true; o.value = v; }, (e: unknown) => { o.settled = true; o.error = e; });
  return o;
}

t.test('stored sends fill their share of the request pool while NATS stalls; a device still authenticates', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const config = resolveConfig({
    host: '127.0.0.1', port: 0, logLevel: 'warn', nats: [server.url], natsPrefix: 'rpool', mailboxShards: 1,
    liveTimeoutMs: 200, oprfKeyFile: oprfKeyFile(),
  }, {});
  // A request deadline far beyond the test: nothing held expires while NATS is stopped.
  const gw = await startGateway(config, { logDestination: sink, busRequests: { requestPool: POOL, requestTimeoutMs: 60_000 } });
  t.teardown(() => gw.close());
  await until(() => gw.bus.status().state === 'connected', 15_000, 'bus connected');
  const pool = (): { auth: { pending: number; refused: number }; other: { pending: number; refused: number } } => gw.bus.requestPool!();

  const alice = await seedDevice(gw.relay.directory);
  const bob = await seedDevice(gw.relay.directory); // never connects: sends to bob are stored
  const carol = await seedDevice(gw.relay.directory);
  const a: RawClient = await authenticate(gw.url, alice);
  t.teardown(() => a.close());
  await until(() => pool().auth.pending + pool().other.pending === 0, 10_000, 'an idle request pool');
  const base = pool();

  const resume = stallNatsServer(t, server, STALL_MAX_MS);

  await resume.stopped; // every thread frozen: nothing more is answered

  // One send op per envelope, so each answers on its own.
  const replies = Array.from({ length: SENDS }, (_, i) => {
    const req = 500 + i;
    a.send([{ req, send: { envelopes: [envelopeFor(bob)] } }]);
    return follow(a.reply(req, 60_000));
  });
  // bob is held nowhere: after --live-timeout-ms each goes to the mailbox, which first
  // reads bob's directory entry; the stalled server answers none of those reads.
  await until(() => pool().other.pending === OTHER_MAX && pool().other.refused - base.other.refused >= SENDS - OTHER_MAX, 15_000, 'the non-reserved part full, the rest refused');
  // Their answers (the server is stopped: only the pool can have refused them).
  await until(() => replies.filter((r) => r.settled).length >= SENDS - OTHER_MAX, 10_000, 'the refused sends answered');
  const failedNow = replies.filter((r) => r.settled);
  t.equal(failedNow.length, SENDS - OTHER_MAX, 'the sends beyond it were answered at once, the others wait');
  for (const r of failedNow) t.equal(r.value?.sendResult?.receipts[0]?.code, ErrorCode.UNAVAILABLE, 'failed UNAVAILABLE');

  // carol logs in meanwhile: her directory read goes into the reserve.
  const login = follow(authenticate(gw.url, carol));
  await until(() => pool().auth.pending === 1 || login.settled, 10_000, 'the authentication read in flight');
  t.notOk(login.settled, `the authentication was not refused (${String(login.error)})`);
  t.equal(pool().other.pending, OTHER_MAX, 'while the non-reserved part is still full');

  resume();
  await login.done;
  t.equal(login.error, undefined, 'carol authenticated once NATS went on');
  login.value?.close();
  await Promise.all(replies.map((r) => r.done));
  const stored = replies.filter((r) => r.value?.sendResult?.receipts[0]?.status === 'stored').length;
  t.equal(stored, OTHER_MAX, 'the held sends were stored');

  // After the stall the relay may read its sessions' records again (a gap in the
  // announcements, a reconnect: Relay.#recheck), and those reads are authentications'
  // too; the gauge is compared once they are done.
  await until(() => pool().auth.pending === 0 && pool().other.pending === 0, 30_000, 'the request pool drained after the stall');
  const m = await httpGet(gw.url, '/metrics');
  t.equal(sample(m.body, 'hushwire_bus_requests_refused_total', { class: 'other' }), pool().other.refused, 'refusals of other requests on /metrics');
  t.ok((pool().other.refused - base.other.refused) >= SENDS - OTHER_MAX);
  t.equal(sample(m.body, 'hushwire_bus_requests_refused_total', { class: 'auth' }), 0, 'no authentication refused');
  t.equal(sample(m.body, 'hushwire_bus_requests_pending', { class: 'auth' }), 0);
  t.match(chunks.join(''), /too many JetStream requests in flight \(class other/, 'the log says which class was refused');
});
