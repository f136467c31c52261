// NATS refusing a gateway's reconnects for a while (its password changed on the server
// first) is logged once at once, not once per attempt (~every 2 s), and once only
// although the gateway has two NATS links using the same credentials (its bus and its
// remote-OPRF client); then at most a summary a minute; one line when NATS accepts again;
// hushwire_nats_refused_connects_total counts every attempt (relay/nats-refusals.ts).
// And the recovery is one reconnect, not one per refused attempt.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { NatsRefusalLog, SUMMARY_EVERY_MS } from '../../relay/nats-refusals.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { NatsBus } from '../../relay/bus/nats.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { CONTRACT_LIMITS } from '../bus/contract.ts';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startTestGateway } from '../helpers/gateway.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';
import { until } from '../helpers/poll.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.setTimeout(120_000);

interface Line { level: number; msg: string; link?: string; attempts?: number }

t.test('lines while NATS refuses: first at once, then one a minute with the count, one when accepted', async (t) => {
  let now = 1_000_000;
  const log = new NatsRefusalLog({ now: () => now });
  const lines: string[] = [];
  const out = (level: string, msg: string): void => { lines.push(`${level} ${msg}`); };
  const r = { setting: '--nats-password-file', reason: 'NATS refused the credentials in --nats-password-file (authorization violation)', error: 'AuthorizationError' };
  log.declare('bus');
  log.declare('OPRF client');
  t.same([...log.totals()], [['bus', 0], ['oprf_client', 0]], 'every link counted from 0');
  for (let i = 0; i < 30; i++) {
    log.refused('bus', r, out);
    log.refused('OPRF client', r, out);
    now += 2000; // one attempt per link every 2 s
  }
  t.equal(lines.length, 1, 'one line for the first 58 s of refusals by two links');
  t.match(lines[0], /^warn bus: NATS refused the credentials in --nats-password-file \(authorization violation\); retrying/);
  log.refused('bus', r, out); // 60 s after the first line
  t.equal(lines.length, 2, 'a summary after a minute');
  t.equal(lines[1], `warn NATS still refuses this process: 60 refused connect attempt(s) in the last 60 s (OPRF client 30, bus 30); ${r.reason}; retrying`);
  log.refused('OPRF client', r, out);
  t.equal(lines.length, 2, 'then quiet again');
  // Another reason (the JWT expired) is news: said at once.
  log.refused('bus', { ...r, reason: 'other reason' }, out);
  t.equal(lines.length, 3);
  t.match(lines[2], /^warn bus: other reason; retrying/);
  log.accepted('bus', out);
  t.equal(lines.length, 3, 'not over while the OPRF client is still refused');
  log.accepted('OPRF client', out);
  t.equal(lines.length, 4);
  t.equal(lines[3], 'info NATS accepts this process\'s connects again, after 63 refused attempt(s) over 60 s');
  log.accepted('bus', out);
  t.equal(lines.length, 4, 'an ordinary reconnect afterwards says nothing here');
  t.same([...log.totals()], [['bus', 32], ['oprf_client', 31]], 'every attempt counted');
  // A new episode starts afresh: its first refusal is said at once.
  now += SUMMARY_EVERY_MS * 10;
  log.refused('bus', r, out);
  t.equal(lines.length, 5);
  t.match(lines[4], /^warn bus: NATS refused/);
  log.forget('bus', out);
  t.equal(lines.length, 5, 'a link closed while refused ends the episode without a line');
  t.notOk(log.refusing);
});

t.test('a gateway with a remote OPRF evaluator whose password NATS refuses for a while', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const good = 'refusal-log-Good-1';
  // The evaluator connects without credentials (no_auth_user); the gateway as hwgw.
  const server = await startNatsServer({
    t, extraConfig: `authorization { users: [ { user: hwgw, password: "${good}" }, { user: hwoprf, password: "unused-Oprf-9" } ] }\nno_auth_user: hwoprf`,
  });
  const seed = new Uint8Array(32).fill(7);
  const key = deriveServerKey(seed);
  await startTestEvaluator({ servers: [server.url], key, id: 'refusals', t });
  const file = privateFileWriter(tempDir('hw-ops-refusals-'));
  const gw = await startTestGateway({
    nats: server.url, name: 'hw-refusal-log', natsUser: 'hwgw', natsPasswordFile: file('gw.pw', `${good}\n`),
    oprfEvaluator: 'refusals', oprfPublicKey: bytesToHex(key.publicKey),
  });
  t.teardown(() => gw.close());
  const lines = (): Line[] => gw.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  const refusedLines = (): Line[] => lines().filter((l) => /NATS refused|still refuses|accepts this process/.test(l.msg));
  const metric = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    return new Map([...text.matchAll(/^hushwire_nats_refused_connects_total\{link="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  t.same([...(await metric())].sort(), [['bus', 0], ['oprf_client', 0]], 'both links\' series from 0');

  // The server's password for hwgw changes (config reload): both links are dropped and
  // every reconnect is refused.
  const original = readFileSync(server.configPath, 'utf8');
  writeFileSync(server.configPath, original.replace(good, 'refusal-log-Other-2'));
  process.kill(server.pid, 'SIGHUP');
  await until('both links to be refused three times or more', async () => {
    const m = await metric();
    return (m.get('bus') ?? 0) >= 3 && (m.get('oprf_client') ?? 0) >= 3;
  }, 60_000, 250);
  const during = refusedLines();
  t.equal(during.length, 1, `one line for ${[...(await metric()).values()].join(' + ')} refused attempts: ${during.map((l) => l.msg).join(' | ')}`);
  t.equal(during[0]?.level, 40, 'at warn');
  t.match(during[0]?.msg, /^(bus|OPRF client): NATS refused the credentials in --nats-password-file \(authorization violation\); retrying/);

  writeFileSync(server.configPath, original);
  process.kill(server.pid, 'SIGHUP');
  await until('the bus to reconnect', () => gw.bus.status().state === 'connected', 30_000);
  await until('the line saying NATS accepts again', () => refusedLines().some((l) => /accepts this process/.test(l.msg)), 30_000);
  const after = refusedLines();
  t.equal(after.length, 2, 'and one line when NATS accepts both links again');
  t.equal(after[1]?.level, 30, 'at info');
  t.match(after[1]?.msg, /^NATS accepts this process's connects again, after \d+ refused attempt\(s\) over \d+ s$/);
  // nats.js reports 'reconnect' once per refused attempt, all at once when one succeeds
  // (each refused attempt's disconnect handler awaits the same dial loop): the bus acted
  // on each (a line, a restore pass, and a mail signal to every connected device).
  const reconnected = (what: string): number => lines().filter((l) => l.msg === `${what}: NATS reconnected (127.0.0.1:${server.port})`).length;
  t.equal(reconnected('bus'), 1, 'one "bus: NATS reconnected" line');
  t.equal(reconnected('OPRF client'), 1, 'one "OPRF client: NATS reconnected" line');
  // The drop names the server lost, as OPERATIONS.md quotes it. A connection NATS drops
  // for its credentials first reports a stale connection, which carries no server: the
  // bus's line said only 'bus: NATS connection lost; reconnecting'.
  for (const what of ['bus', 'OPRF client']) {
    t.same(lines().filter((l) => l.msg.startsWith(`${what}: NATS connection lost`)).map((l) => l.msg),
      [`${what}: NATS connection lost (127.0.0.1:${server.port}); reconnecting`], `${what}: the lost line names the server`);
  }
  t.notOk(gw.logs().includes(good), 'no password in the log');
});

t.test('no restore of the streams while the bus is disconnected: no warning about it', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  // A counter call (a registration's or a discovery's rate limit) failing while NATS
  // refuses the bus started a restore pass of ten attempts against a connection that
  // was not there, ending in 'bus: cannot re-create stream or buckets yet' (warn), ~30 s
  // into the outage on a gateway: noise about a symptom, the refusal being the cause.
  // The reconnect starts the pass that matters.
  const good = 'restore-while-Down-1';
  const server = await startNatsServer({ t, extraConfig: `authorization { user: hwgw, password: "${good}" }` });
  const file = privateFileWriter(tempDir('hw-ops-restore-'));
  const lines: string[] = [];
  const bus = new NatsBus({
    servers: server.url, access: readNatsAccess({ nats: [server.url], natsUser: 'hwgw', natsPasswordFile: file('pw', `${good}\n`) }),
    limits: CONTRACT_LIMITS, prefix: 'rwd', mailboxShards: 1, connectTimeoutMs: 2000, reconnectWaitMs: 200, requestTimeoutMs: 500,
    log: (level, msg) => { lines.push(`${level} ${msg}`); },
  });
  t.teardown(() => bus.close());
  await bus.start();
  const original = readFileSync(server.configPath, 'utf8');
  writeFileSync(server.configPath, original.replace(good, 'restore-while-Down-2'));
  process.kill(server.pid, 'SIGHUP');
  await until('the bus to lose NATS', () => bus.status().state === 'reconnecting', 20_000);
  await t.rejects(bus.counterGet('rl.0123456789abcdef0123456789abcdef'), { code: 'UNAVAILABLE' }, 'a counter call fails meanwhile');
  // Ten attempts 1 s apart, each failing within the 0.5 s request timeout: over by 16 s.
  await new Promise((r) => setTimeout(r, 16_000));
  t.equal(bus.status().state, 'reconnecting', 'still refused');
  t.same(lines.filter((l) => /re-create/.test(l)), [], 'no line about re-creating the streams while disconnected');
  writeFileSync(server.configPath, original);
  process.kill(server.pid, 'SIGHUP');
  await until('the bus to reconnect', () => bus.status().state === 'connected', 30_000);
  await until('the restore pass after the reconnect', () => lines.includes('info bus: stream and buckets in place after a reconnect'), 20_000);
  t.equal(await bus.counterGet('rl.0123456789abcdef0123456789abcdef'), null, 'counter calls work again');
});

t.test('a restore pass started by failing counter calls says so, not "after reconnect"', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  // On a cluster, a NATS node stopping with the counter bucket's JetStream leader makes
  // counter calls fail while the bus stays connected; the pass that finds the bucket
  // again said 'in place after reconnect', and the operator looked for a reconnect.
  // Here the bucket is deleted under a connected bus (an admin's mistake does the same).
  const server = await startNatsServer({ t });
  const lines: string[] = [];
  const bus = new NatsBus({
    servers: server.url, limits: CONTRACT_LIMITS, prefix: 'rcc', mailboxShards: 1, connectTimeoutMs: 2000, requestTimeoutMs: 1000,
    log: (level, msg) => { lines.push(`${level} ${msg}`); },
  });
  t.teardown(() => bus.close());
  await bus.start();
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const counters = (await jsm.streams.names().next()).filter((n) => /^KV_.*rl$/.test(n));
  t.equal(counters.length, 1, `the counter bucket's stream (${counters.join(', ')})`);
  await jsm.streams.delete(counters[0]!);
  const key = 'rl.0123456789abcdef0123456789abcdef';
  await bus.counterGet(key).catch(() => null);
  await until('the restore pass', () => lines.some((l) => /^info bus: stream and buckets in place after /.test(l)), 20_000);
  t.same(lines.filter((l) => /in place after/.test(l)), ['info bus: stream and buckets in place after a failed counter call']);
  t.equal(await bus.counterGet(key), null, 'counter calls work again');
  t.equal(bus.status().state, 'connected', 'no reconnect happened');
});
