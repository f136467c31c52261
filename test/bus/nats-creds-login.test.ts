// --nats-creds-file against a real nats-server (Debian 2.9.x) in operator mode: an
// operator → account → user JWT chain made with NKeys (test/helpers/nats-jwt.ts), the
// server trusting the operator with the accounts preloaded in a memory resolver, and
// JetStream on for the application account.
//
// - a bus logs in with a .creds file (nsc's layout) and stores and reads mail (JetStream);
// - a gateway logs in with one and relays a message, live and through the mailbox;
// - a user of an account the operator never issued is refused, naming --nats-creds-file;
// - a rotated .creds file (another user of the account) is used at the next reconnect;
// - neither the seed nor the JWT shows in a message or log.
import t from 'tap';
import { NatsBus } from '../../relay/bus/nats.ts';
import { BusMisconfigured } from '../../relay/bus/setup-errors.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { makeNatsOperator } from '../helpers/nats-jwt.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.setTimeout(180_000);

/** The server's connections with their authorized users (/connz?auth=1). */
async function connzAuth(server: NatsServerHandle): Promise<{ name?: string; authorized_user?: string; account?: string }[]> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/connz?auth=1`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { connections?: { name?: string; authorized_user?: string; account?: string }[] }).connections ?? [];
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const op = makeNatsOperator();
  const dir = tempDir('hw-creds-');
  const file = privateFileWriter(dir);

  t.test('a bus logs in with a .creds file and uses JetStream', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const user = op.user('hushwire-bus');
    const bus = new NatsBus({
      servers: server.url, access: readNatsAccess({ nats: [server.url], natsCredsFile: file('bus.creds', user.creds) }),
      limits: CONTRACT_LIMITS, prefix: 'creds', mailboxShards: 1, connectTimeoutMs: 2000, reconnectWaitMs: 200, name: 'hw-creds-bus',
    });
    t.teardown(() => bus.close());
    await bus.start();
    t.equal(bus.status().state, 'connected', 'logged in; streams and buckets made');
    const [r, d] = [tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(48, 3));
    const items = await bus.mailboxRead(r, d, 0, 10);
    t.equal(items.length, 1, 'mail stored in and read from JetStream');
    const mine = (await connzAuth(server)).filter((c) => c.name === 'hw-creds-bus');
    t.ok(mine.length > 0 && mine.every((c) => c.authorized_user === user.publicKey && c.account === op.account), 'as the user of the application account');

    // Rotation: another user of the account in the file; the next reconnect uses it.
    const next = op.user('hushwire-bus-next');
    file('bus.creds', next.creds);
    await server.restart();
    await until('the bus to reconnect as the new user', async () => bus.status().state === 'connected'
      && (await connzAuth(server)).some((c) => c.name === 'hw-creds-bus' && c.authorized_user === next.publicKey), 30_000);
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1, 'the mail is still there, read as the new user');
  });

  t.test('a user the operator does not vouch for is refused, naming --nats-creds-file', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const stranger = op.stranger('stranger');
    const bus = new NatsBus({
      servers: server.url, access: readNatsAccess({ nats: [server.url], natsCredsFile: file('stranger.creds', stranger.creds) }),
      limits: CONTRACT_LIMITS, prefix: 'creds', mailboxShards: 1, connectTimeoutMs: 2000, reconnectWaitMs: 200,
    });
    t.teardown(() => bus.close());
    const err = await bus.start().then(() => null, (e: unknown) => e);
    t.ok(err instanceof BusMisconfigured, `not retried: ${(err as Error)?.name}: ${(err as Error)?.message}`);
    t.equal((err as BusMisconfigured).setting, '--nats-creds-file');
    t.match((err as Error).message, /NATS refused the credentials in --nats-creds-file \(authorization violation\)/);
    const seedBody = stranger.seed.slice(2);
    t.notOk((err as Error).message.includes(seedBody) || (err as Error).message.includes(stranger.jwt.split('.')[1]!), 'neither seed nor JWT in the message');
  });

  t.test('a gateway logs in with a .creds file and relays, live and through the mailbox', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const user = op.user('hushwire-gateway');
    const gw = await startTestGateway({ nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-creds-gw', natsCredsFile: file('gw.creds', user.creds) });
    t.teardown(() => gw.close());
    t.equal(gw.bus.status().state, 'connected');
    const a = await registerHandset([gw.url], '+15554460001');
    const b = await registerHandset([gw.url], '+15554460002');
    // b is offline: the message is stored in its mailbox (JetStream), then handed over.
    t.equal((await sendText(a, b.number, 'stored via JetStream')).status, 'stored');
    const lb = await listen(b);
    t.teardown(() => lb.close());
    t.equal((await lb.waitFor(1))[0]?.text, 'stored via JetStream', 'from the mailbox');
    t.equal((await sendText(a, b.number, 'live')).status, 'delivered');
    t.equal((await lb.waitFor(2))[1]?.text, 'live');
    const logs = gw.logs();
    t.notOk(logs.includes(user.seed.slice(2)) || logs.includes(user.jwt.split('.')[1]!), 'neither seed nor JWT in the log');
  });
}
