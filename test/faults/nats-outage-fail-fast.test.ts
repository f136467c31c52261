// Fault: nats-server stopped after the gateway started (SIGTERM; the gateway's NATS
// client then reconnects in a loop). Before, every bus step of a handset's auth,
// registration or lookup waited out the bus's request deadline (5 s) although the bus
// knew it had no connection, so a registration (several steps) outlasted the auth
// deadline and the socket was closed 4001 "auth timeout": the user waited 10 s and was
// told something unrelated. Now, once the connection has been lost for longer than a
// short grace (relay/bus/nats.ts OUTAGE_GRACE_MS), what needs NATS fails UNAVAILABLE
// (retry_after_ms, "NATS connection lost") at once and the socket stays open; a
// message to a device online at the same gateway is still delivered (no NATS needed).
// Once nats-server is back, the same operations succeed again.
//
// No timing is asserted: the request deadline is raised far beyond the auth deadline,
// so an answer that waited for it would come after the socket's 4001 close; every
// answer must come before it.
import t from 'tap';
import { ErrorCode } from '../../relay/errors.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { until, httpStatus, httpBase } from '../helpers/poll.ts';
import { authOp, authenticate, autoAck, envelopeFor, seedDevice } from '../ops/fixtures.ts';
import type { DecodedOp as Op } from '../../relay/wire.ts';

t.setTimeout(240_000);

/** The auth deadline: the 4001 every answer must beat. */
const AUTH_TIMEOUT_MS = 30_000;
/** The bus's request deadline: far beyond the auth deadline (an answer that waited for
 *  it would come after the 4001). */
const REQUEST_TIMEOUT_MS = 120_000;

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

/** The reply to `req` on `c`, or the socket's close if that comes first. */
function replyOrClose(c: RawClient, req: number): Promise<{ op: Op } | { closed: { code: number; reason: string } }> {
  return Promise.race([
    c.reply(req, REQUEST_TIMEOUT_MS + 60_000).then((op) => ({ op })),
    c.closed.then((closed) => ({ closed })),
  ]);
}

t.test('NATS lost after start: auth, verify_start, lookup and stored sends answer UNAVAILABLE before the auth deadline; then work again', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const gw = await startTestGateway(
    { nats: server.url, transport: 'ws', oprfKeyFile: oprfKeyFile(), authTimeoutMs: AUTH_TIMEOUT_MS, logLevel: 'info', name: 'outage' },
    { busRequests: { requestTimeoutMs: REQUEST_TIMEOUT_MS } },
  );
  t.teardown(() => gw.close());
  await until('bus connected', () => gw.bus.status().state === 'connected', 15_000);

  const alice = await seedDevice(gw.relay.directory); // online: sends
  const bob = await seedDevice(gw.relay.directory);   // online at this same gateway
  const carol = await seedDevice(gw.relay.directory); // authenticates during the outage
  const dave = await seedDevice(gw.relay.directory);  // offline: his mail must be stored
  const a = await authenticate(gw.url, alice);
  const b = await authenticate(gw.url, bob);
  t.teardown(() => { a.close(); b.close(); });
  const toBob = autoAck(b);

  // Sockets a handset opened just before the outage: one to authenticate, one to
  // register. Their auth deadline (AUTH_TIMEOUT_MS) runs from now.
  const pc = await connectRaw(gw.url);
  const rc = await connectRaw(gw.url);
  t.teardown(() => { pc.close(); rc.close(); });
  const pch = (await pc.next((o) => o.body === 'challenge')).challenge!;
  await rc.next((o) => o.body === 'challenge');

  await server.stop();
  await until('the bus to see NATS gone', () => gw.bus.status().state === 'reconnecting', 20_000);

  pc.send([{ req: 1, ...authOp(carol, pch.nonce) }]);
  rc.send([{ req: 1, verifyStart: { number: freshNumber() } }]);
  a.send([{ req: 11, lookup: { route: dave.route } }]);
  a.send([{ req: 12, send: { envelopes: [envelopeFor(dave)] } }]);
  a.send([{ req: 13, send: { envelopes: [envelopeFor(bob)] } }]);

  const auth = await replyOrClose(pc, 1);
  t.ok('op' in auth, `the auth was answered before the socket closed (${'closed' in auth ? `closed ${auth.closed.code} ${auth.closed.reason}` : 'answered'})`);
  if ('op' in auth) {
    t.equal(auth.op.error?.code, ErrorCode.UNAVAILABLE, 'auth: UNAVAILABLE');
    t.match(auth.op.error?.message ?? '', /NATS connection lost/, 'saying why');
    t.ok(Number(auth.op.error?.retryAfterMs ?? 0) > 0, 'with retry_after_ms');
  }
  const verify = await replyOrClose(rc, 1);
  t.ok('op' in verify, 'verify_start was answered before the socket closed');
  if ('op' in verify) t.equal(verify.op.error?.code, ErrorCode.UNAVAILABLE, 'verify_start: UNAVAILABLE');
  // An authenticated socket has no auth deadline: these are answered while the sockets
  // opened before the outage are still open, i.e. before their 4001.
  const lookup = await replyOrClose(a, 11);
  t.equal('op' in lookup && lookup.op.error?.code, ErrorCode.UNAVAILABLE, 'lookup: UNAVAILABLE');
  const stored = await replyOrClose(a, 12);
  t.equal('op' in stored && stored.op.sendResult?.receipts[0]?.code, ErrorCode.UNAVAILABLE, 'a send to an offline device: UNAVAILABLE (its mailbox is out of reach)');
  const live = await replyOrClose(a, 13);
  t.equal('op' in live && live.op.sendResult?.receipts[0]?.status, 'delivered', 'a send to a device online at this same gateway is still delivered');
  t.equal(toBob.length, 1, 'bob got it');
  t.equal(pc.ws.readyState, pc.ws.OPEN, 'the socket that asked to authenticate is still open (before its auth deadline)');
  t.equal(rc.ws.readyState, rc.ws.OPEN, 'so is the registering one');
  t.equal(gw.bus.status().state, 'reconnecting', 'and NATS was still down throughout');

  // NATS back: the same operations work again.
  await server.restart();
  await until('gateway ready again', async () => (await httpStatus(`${httpBase(gw.url)}/readyz`)) === 200, 30_000, 100);
  const c = await authenticate(gw.url, carol);
  t.teardown(() => c.close());
  c.send([{ req: 21, lookup: { route: dave.route } }]);
  t.equal((await c.reply(21, 30_000)).body, 'devices', 'lookup works again');
  c.send([{ req: 22, send: { envelopes: [envelopeFor(dave)] } }]);
  t.equal((await c.reply(22, 30_000)).sendResult?.receipts[0]?.status, 'stored', 'a send to an offline device is stored again');
  const r2 = await connectRaw(gw.url);
  t.teardown(() => r2.close());
  await r2.next((o) => o.body === 'challenge');
  r2.send([{ req: 1, verifyStart: { number: freshNumber() } }]);
  t.equal((await r2.reply(1, 30_000)).body, 'verifyStarted', 'verify_start works again');
  t.match(gw.logs(), /NATS connection lost/, 'the log said NATS was lost');
});
