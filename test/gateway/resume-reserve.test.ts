// A ticket_request's directory read (docs/PROTOCOL.md section 13) is not an
// authentication's: it goes into the shared part of the bus's JetStream request pool,
// never into the reserve kept for logins (relay/bus/nats-requests.ts AUTH_RESERVE). That
// reserve is sized for one authentication read in flight per connection (#busy); a
// connection may have up to 4 ticket requests in flight at once, so ticket reads in the
// reserve would let authenticated connections fill it while nats-server stalls and make
// every other device's login fail. Shown on a gateway whose nats-server is stopped
// (SIGSTOP by the helper, SIGCONT by a timer and at teardown): 4 ticket requests wait in
// the shared part, none in the reserve, and are answered once NATS goes on.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { resolveConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/server.ts';
import { MAX_TICKET_REQUESTS_PER_CONNECTION } from '../../relay/session.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';
import { haveNatsServer, stallNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { oprfKeyFile } from '../helpers/gateway.ts';
import { authenticate, seedDevice, until } from '../ops/fixtures.ts';
import type { RawClient } from '../helpers/raw.ts';

/** 16 requests in flight, 8 of them only for authentications. */
const POOL = { maxPending: 16, authReserve: 8 };
/** The longest nats-server stays stopped (then SIGCONT regardless). */
const STALL_MAX_MS = 20_000;

t.test('ticket requests wait in the shared part of the request pool, not in the login reserve', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const config = resolveConfig({
    host: '127.0.0.1', port: 0, logLevel: 'warn', nats: [server.url], natsPrefix: 'rtres', mailboxShards: 1, oprfKeyFile: oprfKeyFile(),
  }, {});
  const gw = await startGateway(config, { logDestination: new PassThrough().resume(), busRequests: { requestPool: POOL, requestTimeoutMs: 60_000 } });
  t.teardown(() => gw.close());
  await until(() => gw.bus.status().state === 'connected', 15_000, 'bus connected');
  const pool = (): { auth: { pending: number }; other: { pending: number } } => gw.bus.requestPool!();
  const alice = await seedDevice(gw.relay.directory);
  const a: RawClient = await authenticate(gw.url, alice);
  t.teardown(() => a.close());
  await until(() => pool().auth.pending + pool().other.pending === 0, 10_000, 'an idle request pool');

  const resume = stallNatsServer(t, server, STALL_MAX_MS);

  await resume.stopped; // every thread frozen: nothing more is answered
  const n = MAX_TICKET_REQUESTS_PER_CONNECTION;
  a.send(Array.from({ length: n }, (_, i) => ({ req: 70 + i, ticketRequest: { publicKey: x25519KeyPair().publicKey } })));
  await until(() => pool().auth.pending + pool().other.pending === n, 10_000, 'the ticket requests\' directory reads in flight');
  t.equal(pool().auth.pending, 0, 'none in the reserve kept for logins');
  t.equal(pool().other.pending, n, 'all in the shared part');

  resume();
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => a.reply(70 + i, 30_000)));
  t.same(answers.map((r) => r.body), Array(n).fill('ticket'), 'each answered with a ticket once NATS went on');
});
