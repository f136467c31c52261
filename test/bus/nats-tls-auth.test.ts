// The NATS connection secured (relay/nats-connect-options.ts, relay/nats-connect.ts),
// against real nats-servers (Debian 2.9.x) with throwaway certificates made by openssl:
//
// - TLS with the operator's CA: the bus starts, stores and reads mail, and nats-server
//   reports the connection as TLS (its /connz), also where TLS is optional on the server;
// - TLS required (a tls:// URL or --nats-tls-ca-file) against a server without TLS:
//   refused, never plain text; a server certificate from another CA, or none of ours:
//   refused; all as BusMisconfigured naming the flag (the gateway stops at start);
// - mutual TLS: the client certificate works, and without it (or with one from another
//   CA) the refusal names --nats-tls-cert-file, although nats.js itself only times out;
// - user/password, token and NKey seed files work, a wrong one is refused naming its
//   flag, none at all names the flags to give; credentials in a --nats URL work too;
// - no secret (password, token, seed) in any message.
import t, { type Test } from 'tap';
import { nkeys } from '@nats-io/transport-node';
import { NatsBus } from '../../relay/bus/nats.ts';
import { BusMisconfigured, NatsUnreachable } from '../../relay/bus/setup-errors.ts';
import { readNatsAccess, type NatsAccessSettings } from '../../relay/nats-connect-options.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer, connz, type NatsServerHandle } from '../helpers/nats-server.ts';
import { makeTlsFiles, natsServerTls } from '../helpers/tls-certs.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.setTimeout(240_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const f = makeTlsFiles();
  const dir = tempDir('hw-natsauth-');
  const file = privateFileWriter(dir);
  let n = 0;
  /** A bus with these settings; its start's error (null when it started), closed at teardown. */
  const attempt = async (tt: { teardown(fn: () => unknown): void }, url: string, settings: Partial<NatsAccessSettings>, check?: (bus: NatsBus) => Promise<void>): Promise<unknown> => {
    const name = `hushwire-test-${++n}`;
    const bus = new NatsBus({
      servers: url, access: readNatsAccess({ nats: [url], ...settings }), limits: CONTRACT_LIMITS,
      prefix: `a${n}`, mailboxShards: 1, connectTimeoutMs: 2000, reconnectWaitMs: 100, name,
    });
    tt.teardown(() => bus.close());
    const err = await bus.start().then(() => null, (e: unknown) => e);
    if (err === null && check) await check(bus);
    return err;
  };
  const roundTrip = async (bus: NatsBus): Promise<void> => {
    const [r, d] = [tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(64, 9));
    const items = await bus.mailboxRead(r, d, 0, 10);
    if (items.length !== 1 || items[0]!.data.length !== 64) throw new Error('mail not read back');
  };
  const refusedAs = (tt: Test, err: unknown, setting: string, re: RegExp, secrets: string[] = []): void => {
    tt.ok(err instanceof BusMisconfigured, `BusMisconfigured (not retried), got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    tt.equal((err as BusMisconfigured).setting, setting, `names ${setting}`);
    tt.match((err as Error).message, re);
    tt.notMatch((err as Error).message, /\n/, 'one line');
    for (const s of secrets) tt.notOk((err as Error).message.includes(s), 'no secret in the message');
  };

  t.test('TLS with --nats-tls-ca-file: starts, stores and reads mail, over TLS', async (t) => {
    const server = await startNatsServer({ t, extraConfig: natsServerTls(f) });
    const err = await attempt(t, server.url, { natsTlsCaFile: f.ca }, async (bus) => {
      await roundTrip(bus);
      const mine = (await connz(server)).filter((c) => c.name?.startsWith('hushwire-test-'));
      t.ok(mine.length > 0 && mine.every((c) => typeof c.tls_version === 'string' && c.tls_version !== ''), `nats-server sees TLS: ${JSON.stringify(mine)}`);
    });
    t.equal(err, null, 'started');
    t.equal(await attempt(t, `tls://127.0.0.1:${server.port}`, { natsTlsCaFile: f.ca }), null, 'tls:// with the CA file too');
  });

  t.test('where TLS is optional on the server, tls:// and --nats-tls-ca-file use it', async (t) => {
    const server = await startNatsServer({ t, extraConfig: `${natsServerTls(f)}\nallow_non_tls: true` });
    const err = await attempt(t, `tls://127.0.0.1:${server.port}`, { natsTlsCaFile: f.ca }, async (bus) => {
      await roundTrip(bus);
      const mine = (await connz(server)).filter((c) => c.name?.startsWith('hushwire-test-'));
      t.ok(mine.length > 0 && mine.every((c) => typeof c.tls_version === 'string' && c.tls_version !== ''), 'TLS, not plain text');
    });
    t.equal(err, null);
  });

  t.test('TLS required against a server without TLS: refused, never plain text', async (t) => {
    const plain = await startNatsServer({ t });
    refusedAs(t, await attempt(t, `tls://127.0.0.1:${plain.port}`, {}), '--nats',
      /^the NATS server offers no TLS, which tls:\/\/ in --nats requires: refused rather than connect in plain text/);
    refusedAs(t, await attempt(t, plain.url, { natsTlsCaFile: f.ca }), '--nats-tls-ca-file',
      /^the NATS server offers no TLS, which --nats-tls-ca-file requires/);
    refusedAs(t, await attempt(t, plain.url, { natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey }), '--nats-tls-cert-file',
      /offers no TLS, which --nats-tls-cert-file requires/);
    t.equal(await attempt(t, plain.url, {}, roundTrip), null, 'nats:// without TLS flags still connects to it');
  });

  t.test('a server certificate that does not verify: refused, naming --nats-tls-ca-file', async (t) => {
    const server = await startNatsServer({ t, extraConfig: natsServerTls(f) });
    refusedAs(t, await attempt(t, server.url, { natsTlsCaFile: f.otherCa }), '--nats-tls-ca-file',
      /^the NATS server's TLS certificate did not verify against --nats-tls-ca-file: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
    refusedAs(t, await attempt(t, server.url, {}), '--nats-tls-ca-file',
      /did not verify against the system's CAs \(no --nats-tls-ca-file given\)/);
  });

  t.test('mutual TLS: the client certificate works; without it, or from another CA, refused', async (t) => {
    const server = await startNatsServer({ t, extraConfig: natsServerTls(f, { verify: true }) });
    t.equal(await attempt(t, server.url, { natsTlsCaFile: f.ca, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey }, roundTrip), null, 'with the client certificate');
    // nats.js only times out here (connectTimeoutMs); the probe finds the server's alert.
    refusedAs(t, await attempt(t, server.url, { natsTlsCaFile: f.ca }), '--nats-tls-cert-file',
      /^NATS requires a client certificate \(TLS alert: [a-z ]+\): give --nats-tls-cert-file and --nats-tls-key-file$/);
    refusedAs(t, await attempt(t, server.url, { natsTlsCaFile: f.ca, natsTlsCertFile: f.otherClientCert, natsTlsKeyFile: f.otherClientKey }), '--nats-tls-cert-file',
      /^NATS refused the client certificate in --nats-tls-cert-file \(TLS alert: [a-z ]+\)/);
  });

  t.test('a timeout without TLS stays an outage (retried)', async (t) => {
    // A listener that accepts and never speaks: nats.js times out, no TLS to probe.
    const net = await import('node:net');
    const held = new Set<import('node:net').Socket>();
    const mute = net.createServer((s) => { held.add(s); });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      for (const s of held) s.destroy();
      mute.close();
    });
    const port = (mute.address() as { port: number }).port;
    const err = await attempt(t, `nats://127.0.0.1:${port}`, {});
    t.ok(err instanceof NatsUnreachable, 'NatsUnreachable');
    const tlsErr = await attempt(t, `nats://127.0.0.1:${port}`, { natsTlsCaFile: f.ca });
    t.ok(tlsErr instanceof NatsUnreachable, 'with TLS as well: the probe finds no refusal');
  });

  t.test('user and password file', async (t) => {
    const password = '12-hunter2-password';
    const server = await startNatsServer({ t, extraConfig: `authorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    t.equal(await attempt(t, server.url, { natsUser: 'hwgw', natsPasswordFile: file('pw', `${password}\n`) }, roundTrip), null, 'the right one');
    refusedAs(t, await attempt(t, server.url, { natsUser: 'hwgw', natsPasswordFile: file('pw-wrong', 'not-it\n') }), '--nats-password-file',
      /^NATS refused the credentials in --nats-password-file \(authorization violation\)$/, ['not-it', password]);
    refusedAs(t, await attempt(t, server.url, {}), '--nats-user',
      /^NATS requires credentials \(authorization violation\): give --nats-user with --nats-password-file, --nats-token-file, --nats-nkey-seed-file or --nats-creds-file$/);
    // nats.js ignores a URL's credentials (and took "12..." for the port): they are
    // handed over as an authenticator now.
    t.equal(await attempt(t, `nats://hwgw:${password}@127.0.0.1:${server.port}`, {}, roundTrip), null, 'credentials in the URL work');
    refusedAs(t, await attempt(t, `nats://hwgw:wrong-one@127.0.0.1:${server.port}`, {}), '--nats',
      /^NATS refused the credentials given with --nats \(authorization violation\)$/, ['wrong-one', 'hwgw']);
  });

  t.test('token file', async (t) => {
    const token = 's3cr3t-token-value';
    const server = await startNatsServer({ t, extraConfig: `authorization { token: ${JSON.stringify(token)} }` });
    t.equal(await attempt(t, server.url, { natsTokenFile: file('tok', ` ${token}\n`) }, roundTrip), null, 'the right one');
    refusedAs(t, await attempt(t, server.url, { natsTokenFile: file('tok-wrong', 'other-token\n') }), '--nats-token-file',
      /^NATS refused the credentials in --nats-token-file/, ['other-token', token]);
    t.equal(await attempt(t, `nats://${token}@127.0.0.1:${server.port}`, {}, roundTrip), null, 'a token in the URL works');
  });

  t.test('NKey seed file', async (t) => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startNatsServer({ t, extraConfig: `authorization { users: [ { nkey: ${JSON.stringify(user.getPublicKey())} } ] }` });
    t.equal(await attempt(t, server.url, { natsNkeySeedFile: file('seed', `${seed}\n`) }, roundTrip), null, 'the right seed');
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    refusedAs(t, await attempt(t, server.url, { natsNkeySeedFile: file('seed-other', other) }), '--nats-nkey-seed-file',
      /^NATS refused the credentials in --nats-nkey-seed-file/, [other, seed]);
  });

  t.test('mutual TLS and a password together', async (t) => {
    const password = 'both-pass';
    const server = await startNatsServer({ t, extraConfig: `${natsServerTls(f, { verify: true })}\nauthorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    const tls = { natsTlsCaFile: f.ca, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey };
    t.equal(await attempt(t, server.url, { ...tls, natsUser: 'hwgw', natsPasswordFile: file('pw2', password) }, roundTrip), null);
    refusedAs(t, await attempt(t, server.url, { ...tls, natsUser: 'hwgw', natsPasswordFile: file('pw3', 'nope') }), '--nats-password-file', /refused the credentials/);
    refusedAs(t, await attempt(t, server.url, tls), '--nats-tls-cert-file',
      /^NATS refused this client \(authorization violation\): the certificate in --nats-tls-cert-file maps to no NATS user, or credentials are needed/);
  });
}
