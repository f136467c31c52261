// --nats-creds-file against a real nats-server (Debian 2.9.x) in operator mode: an
// operator → account → user JWT chain made with NKeys (test/helpers/nats-jwt.ts), the
// server trusting the operator with the accounts preloaded in a memory resolver, and
// JetStream on for the application account.
//
// - a bus logs in with a .creds file (nsc's layout) and stores and reads mail (JetStream);
// - a gateway logs in with one and relays a message, live and through the mailbox;
// - a user of an account the operator never issued is refused, naming --nats-creds-file;
// - a rotated .creds file (another user of the account) is used at the next reconnect;
// - neither the seed nor the JWT shows in a message or log;
// - the user JWT's exp: a far-future one logs in (and /metrics shows it); one already
//   past is refused by nats-server, and by the gateway at start (exit-2 line naming the
//   file); one passing while the gateway runs gets the connection dropped and every
//   login refused by nats-server, the gateway saying which JWT expired and when, and a
//   new .creds file in place brings it back without a restart; `hushwire oprf` warns
//   about and exports it the same way.
import t from 'tap';
import { createHash } from 'node:crypto';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { NatsBus } from '../../relay/bus/nats.ts';
import { BusMisconfigured } from '../../relay/bus/setup-errors.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { makeNatsOperator, type NatsUser } from '../helpers/nats-jwt.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { spawnOprfChild } from '../helpers/oprf.ts';
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
    // A JWT with an exp a year ahead: NATS takes it, nothing to warn about yet.
    const user = op.user('hushwire-gateway', { expiresS: nowS() + 365 * 86_400 });
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
    t.notMatch(logs, /user JWT/, 'a year left: no warning');
    const left = Number(/^hushwire_nats_user_jwt_expiry_seconds (\S+)$/m.exec(await metricsOf(gw.port))?.[1]);
    t.ok(left > 364 * 86_400 && left <= 365 * 86_400, `/metrics: ${left} s until the JWT expires`);
  });

  t.test('a user JWT already expired: nats-server refuses it, and the gateway refuses to start with it, saying so', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const expiredAt = nowS() - 600;
    const user = op.user('hushwire-expired', { expiresS: expiredAt });
    // What the start-up check saves: nats-server refuses the JWT.
    const err = await connect({
      servers: server.url, authenticator: jwtAuthenticator(user.jwt, new TextEncoder().encode(user.seed)), reconnect: false, timeout: 5000,
    }).then(async (nc) => { await nc.close(); return null; }, (e: unknown) => e as Error);
    t.equal(err?.name, 'AuthorizationError', `nats-server refuses an expired user JWT: ${err?.name}`);
    await until('nats-server to log the refusal', () => /authentication error/.test(server.logTail()), 10_000);

    const path = file('expired.creds', user.creds);
    const start = await startTestGateway({ nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-creds-expired', natsCredsFile: path })
      .then(async (gw) => { await gw.close(); return null; }, (e: unknown) => e as Error);
    t.equal(start?.name, 'ConfigError', 'refused before connecting (exit 2 from the command)');
    t.equal(start?.message, `--nats-creds-file: ${path}: the user JWT (sha256 ${sha16(user.jwt)}) expired on ${new Date(expiredAt * 1000).toISOString()}`);
    t.notOk(leaks(start?.message ?? '', user), 'no JWT, seed or user key in it');
  });

  t.test('a user JWT expiring while the gateway runs: NATS drops and refuses it, the gateway says why, a new .creds file brings it back', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const expiresAt = nowS() + 6;
    const user = op.user('hushwire-brief', { expiresS: expiresAt });
    const path = file('brief.creds', user.creds);
    const gw = await startTestGateway({ nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-creds-brief', natsCredsFile: path });
    t.teardown(() => gw.close());
    t.equal(gw.bus.status().state, 'connected', 'logged in while the JWT is valid');
    const lines = (re: RegExp): { level: number; msg: string; setting?: string }[] => gw.logs().split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; setting?: string }).filter((l) => re.test(l.msg));
    const ahead = lines(/the user JWT in use/);
    t.equal(ahead.length, 1, 'warned at start, once');
    t.equal(ahead[0]?.level, 40);
    t.match(ahead[0]?.msg, new RegExp(`^--nats-creds-file: ${path}: the user JWT in use \\(sha256 ${sha16(user.jwt)}\\) expires on ${new Date(expiresAt * 1000).toISOString()} \\(in 0 h\\); put a new \\.creds file in place before then`));

    // exp passes: nats-server drops the connection and refuses every login after.
    await until('the gateway to lose NATS', () => gw.bus.status().state !== 'connected', 20_000);
    await until('a refused login', () => /authentication error/.test(server.logTail()), 20_000);
    await until('the gateway to say why', () => lines(/^bus: NATS refused the credentials in --nats-creds-file/).length > 0, 20_000);
    const why = lines(/^bus: NATS refused the credentials in --nats-creds-file/).at(-1)!;
    t.equal(why.level, 40);
    t.equal(why.setting, '--nats-creds-file');
    t.match(why.msg, new RegExp(`^bus: NATS refused the credentials in --nats-creds-file \\((authorization violation|the user JWT has expired)\\): the user JWT in it \\(sha256 ${sha16(user.jwt)}\\) expired on ${new Date(expiresAt * 1000).toISOString()}: put a new \\.creds file in place \\(read again at each NATS connect, no restart needed\\); retrying \\(while NATS refuses: one line a minute at most, and one when it accepts again\\)$`));
    t.not(gw.bus.status().state, 'connected', 'still refused');
    t.not(gw.bus.status().state, 'closed', 'still trying');
    const left = Number(/^hushwire_nats_user_jwt_expiry_seconds (\S+)$/m.exec(await metricsOf(gw.port))?.[1]);
    t.ok(left < 0, `/metrics: negative once expired (${left})`);

    // The fix: a new .creds file (another user of the account, no exp). No restart.
    const next = op.user('hushwire-next');
    file('brief.creds', next.creds);
    await until('the gateway to log in with the new file', async () => gw.bus.status().state === 'connected'
      && (await connzAuth(server)).some((c) => c.name === 'hw-creds-brief' && c.authorized_user === next.publicKey), 30_000);
    t.equal(Number(/^hushwire_nats_user_jwt_expiry_seconds (\S+)$/m.exec(await metricsOf(gw.port))?.[1]), Infinity, '/metrics: +Inf (no exp)');
    await until('the line saying NATS accepts again', () => lines(/^NATS accepts this process's connects again/).length > 0, 10_000);
    t.ok(lines(/^bus: NATS refused the credentials/).length <= 2, 'said once per reason (the JWT expired; then authorization violation), not per attempt');
    t.ok(Number(/^hushwire_nats_refused_connects_total\{link="bus"\} (\d+)$/m.exec(await metricsOf(gw.port))?.[1]) >= 1, '/metrics counts the refused attempts');
    t.notOk(leaks(gw.logs(), user) || leaks(gw.logs(), next), 'no JWT, seed or user key in the log');
  });

  t.test('hushwire oprf: the same warning and gauge for its .creds file', async (t) => {
    const server = await startNatsServer({ t, extraConfig: op.serverConfig });
    const user = op.user('hushwire-oprf', { expiresS: nowS() + 3 * 86_400 });
    const path = file('oprf.creds', user.creds);
    const ev = await spawnOprfChild(t, server.url, ['--key-file', oprfKeyFile(),
      '--id', 'creds', '--name', 'hw-creds-oprf', '--nats-creds-file', path]);
    const p = ev.proc;
    const port = ev.port;
    t.match(ev.output(), new RegExp(`--nats-creds-file: ${path}: the user JWT in use \\(sha256 ${sha16(user.jwt)}\\) expires on \\S+ \\(in 7[12] h\\)`), 'warned at start');
    const left = Number(/^hushwire_nats_user_jwt_expiry_seconds (\S+)$/m.exec(await metricsOf(port))?.[1]);
    t.ok(left > 3 * 86_400 - 120 && left <= 3 * 86_400, `/metrics: ${left} s`);
    t.notOk(leaks(ev.output(), user), 'no JWT, seed or user key in its output');
  });
}

function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

function sha16(jwt: string): string {
  return createHash('sha256').update(jwt).digest('hex').slice(0, 16);
}

/** True if `text` holds the user's JWT (or its claims), seed or public key. */
function leaks(text: string, user: NatsUser): boolean {
  return [user.jwt.split('.')[1]!, user.seed.slice(2), user.publicKey].some((s) => text.includes(s));
}

async function metricsOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return text.replace(/ \+Inf$/gm, ' Infinity');
}
