// Resumption tickets (docs/PROTOCOL.md, section 13), spoken raw against real gateways:
// a signed device gets a ticket and authenticates its next connection with it (and is
// then what a signed auth makes: receives, kicks the older connection); a ticket that
// does not open here is RESUME_REFUSED with the connection kept for a signed auth; a
// wrong proof, a second try or mixed proofs are AUTH_FAILED 4002; tickets die with the
// device (opt-out); ticket_request's bad input and bound; tickets off (ttl 0); and two
// gateways on one NATS, with and without a shared --resume-key-file. No ticket or secret
// reaches the logs.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway, natsGatewayPair, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, type RawDevice } from '../helpers/raw-device.ts';
import { tempDir } from '../helpers/temp.ts';
import { requestTicket, resumeRaw, signedAuthOn, closeAll, signedDevice, type Held } from '../helpers/resume.ts';
import { sign, authInput, unregisterInput, generateIdentity } from '../../relay/crypto/sign.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';
import { resumeProof } from '../../relay/crypto/resume.ts';
import { TICKET_BYTES } from '../../relay/resume-tickets.ts';
import { MAX_TICKET_REQUESTS_PER_CONNECTION } from '../../relay/session.ts';
import { MAX_SEND_ONLY_PER_DEVICE } from '../../relay/relay.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { resolveConfig, ConfigError } from '../../gateway/config.ts';
import { readConfigFiles, MAX_RESUME_KEYS } from '../../gateway/config-files.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { DirectoryReadOptions } from '../../relay/bus/bus.ts';

async function metric(gw: TestGateway, name: string): Promise<string> {
  return gw.metrics.registry.getSingleMetricAsString(name);
}

function envelopeTo(dev: RawDevice) {
  return { version: 1, suite: 1, route: dev.route, device: dev.device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(32), ciphertext: new Uint8Array(272) };
}

/** Neither a ticket nor a secret, in hex or base64, is in the gateway's logs. */
function noSecretsLogged(t: Test, gw: TestGateway, held: Held[]): void {
  const logs = gw.logs();
  for (const h of held) {
    for (const b of [h.ticket, h.secret]) {
      for (const s of [Buffer.from(b).toString('hex'), Buffer.from(b).toString('base64'), Buffer.from(b).toString('base64url')]) {
        if (logs.includes(s.slice(0, 24))) t.fail('a ticket or secret is in the logs');
      }
    }
  }
}

t.test('one gateway (embedded bus)', async (t) => {
  const gw = await startTestGateway({ liveTimeoutMs: 30_000 });
  t.teardown(() => gw.close());
  const held: Held[] = [];

  t.test('a ticket authenticates the next connection, which then receives and kicks like a signed one', async (t) => {
    const { c: first, dev } = await signedDevice(gw.url, '+15557780001');
    const ch = (await first.next((o) => o.body === 'challenge')).challenge!;
    t.equal(ch.resumeKey.length, 32, 'the challenge carries the resume key');
    const h = await requestTicket(first, dev);
    held.push(h);
    t.equal(h.ticket.length, TICKET_BYTES);
    t.equal(h.expiresInS, 86_400, 'a day by default');
    const { c: second, answer } = await resumeRaw(gw.url, dev, h);
    t.equal(answer.body, 'ok', 'resumed without a signature');
    t.equal((await first.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'the older receiving connection is kicked');
    // Mail reaches the resumed connection.
    const { c: sender, dev: other } = await signedDevice(gw.url, '+15557780002');
    const env = envelopeTo(dev);
    sender.send([{ req: 3, send: { envelopes: [env] } }]);
    const got = await second.next((o) => o.body === 'deliver');
    t.same(Buffer.from(got.deliver!.envelopes[0]!.id), Buffer.from(env.id), 'delivered to the resumed connection');
    second.send([{ req: 0, deliverAck: { ids: [env.id] } }]);
    t.equal((await sender.reply(3)).sendResult!.receipts[0]!.status, 'delivered');
    // The same ticket serves again (until it expires), each time over the new nonce.
    const { c: third, answer: again } = await resumeRaw(gw.url, dev, h);
    t.equal(again.body, 'ok', 'a ticket is not single-use');
    t.equal((await second.closed).code, CloseCode.CONNECTED_ELSEWHERE);
    t.match(await metric(gw, 'hushwire_auth_resumes_total'), /result="resumed"} 2/);
    t.match(await metric(gw, 'hushwire_resume_tickets_issued_total'), /hushwire_resume_tickets_issued_total 1/);
    void other;
    await closeAll(third, sender);
  });

  t.test('a send-only connection resumes too, without taking the device', async (t) => {
    const { c: listen, dev } = await signedDevice(gw.url, '+15557780003');
    const h = await requestTicket(listen, dev);
    const { c: so, answer } = await resumeRaw(gw.url, dev, h, { sendOnly: true });
    t.equal(answer.body, 'ok');
    listen.send([{ req: 9, lookup: { route: dev.route } }]);
    t.equal((await listen.reply(9)).body, 'devices', 'the receiving connection is still served');
    await closeAll(listen, so);
  });

  t.test('a good ticket on a fifth send-only connection is RATE_LIMITED as a signed one is, and not counted as resumed', async (t) => {
    const { c: listen, dev } = await signedDevice(gw.url, '+15557780013');
    const h = await requestTicket(listen, dev);
    const resumedNow = async (): Promise<number> => Number(/result="resumed"} (\d+)/.exec(await metric(gw, 'hushwire_auth_resumes_total'))?.[1] ?? 0);
    const sendOnly: RawClient[] = [];
    for (let i = 0; i < MAX_SEND_ONLY_PER_DEVICE; i++) {
      const { c, answer } = await resumeRaw(gw.url, dev, h, { sendOnly: true });
      t.equal(answer.body, 'ok', `send-only connection ${i + 1} resumed`);
      sendOnly.push(c);
    }
    const before = await resumedNow();
    const { c: fifth, answer } = await resumeRaw(gw.url, dev, h, { sendOnly: true });
    t.equal(answer.error?.code, ErrorCode.RATE_LIMITED);
    t.equal((await fifth.closed).code, CloseCode.TRY_AGAIN_LATER);
    t.equal(await resumedNow(), before, 'hushwire_auth_resumes_total{result="resumed"} unchanged');
    await closeAll(listen, ...sendOnly);
  });

  t.test('a wrong proof is RESUME_REFUSED like a ticket that does not open (counted apart); the connection then signs', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780004');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const { c: bad, answer, nonce } = await resumeRaw(gw.url, dev, { ...h, secret: new Uint8Array(randomBytes(32)) });
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'the answer a stale ticket gets: no oracle for the ticket holder');
    t.equal(bad.ws.readyState, bad.ws.OPEN, 'the connection stays open');
    t.match(await metric(gw, 'hushwire_auth_resumes_total'), /result="failed"} 1/);
    t.equal((await signedAuthOn(bad, dev, nonce, 8)).body, 'ok', 'a signed auth on it succeeds');
    await closeAll(bad);
    // Tried again, the stolen ticket gets the very same answer as any stale one.
    const { c: stale, answer: same } = await resumeRaw(gw.url, dev, { ...h, secret: new Uint8Array(randomBytes(32)) });
    t.equal(same.error?.message, answer.error?.message);
    await closeAll(stale);
  });

  t.test('a ticket that does not open is RESUME_REFUSED; the same connection then signs; a second resume there is AUTH_FAILED', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780005');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const forged = { ...h, ticket: new Uint8Array(randomBytes(TICKET_BYTES)) };
    forged.ticket[0] = 1;
    const { c: r, answer, nonce } = await resumeRaw(gw.url, dev, forged);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED);
    t.equal(r.ws.readyState, r.ws.OPEN, 'the connection stays open');
    const signed = await signedAuthOn(r, dev, nonce, 8);
    t.equal(signed.body, 'ok', 'a signed auth on the same connection (same nonce) succeeds');
    await closeAll(r);
    const { c: r2, nonce: n2 } = await resumeRaw(gw.url, dev, forged);
    r2.send([{ req: 9, auth: { route: dev.route, device: dev.device, ticket: h.ticket, proof: resumeProof(h.secret, n2, dev.route, dev.device) } }]);
    t.equal((await r2.reply(9)).error?.code, ErrorCode.AUTH_FAILED, 'one resume per connection, even with a good ticket');
    t.equal((await r2.closed).code, CloseCode.AUTH_FAILED);
  });

  t.test("another device's ticket, and an unknown device's, are refused alike (no existence oracle)", async (t) => {
    const { c: a, dev: devA } = await signedDevice(gw.url, '+15557780006');
    const { c: b, dev: devB } = await signedDevice(gw.url, '+15557780007');
    const h = await requestTicket(a, devA);
    await closeAll(a, b);
    const { c: x, answer } = await resumeRaw(gw.url, devB, h);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, "A's ticket for B");
    const ghost: RawDevice = { ...devA, device: new Uint8Array(randomBytes(16)) };
    const { c: y, answer: unknown } = await resumeRaw(gw.url, ghost, h);
    t.equal(unknown.error?.code, ErrorCode.RESUME_REFUSED, 'an unknown device: the same answer');
    t.equal(unknown.error?.message, answer.error?.message);
    await closeAll(x, y);
  });

  t.test('after an opt-out the ticket no longer opens, and the signed fallback fails as before', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780008');
    const h = await requestTicket(c, dev);
    c.send([{ req: 60, unregister: {} }]);
    t.equal((await c.reply(60)).body, 'ok');
    await c.closed;
    const { c: r, answer, nonce } = await resumeRaw(gw.url, dev, h);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED);
    t.equal((await signedAuthOn(r, dev, nonce, 8)).error?.code, ErrorCode.AUTH_FAILED);
    t.equal((await r.closed).code, CloseCode.AUTH_FAILED);
  });

  t.test('an opt-out on a resumed connection needs the identity key\'s signature; on a signed one it does not', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780012');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const { c: r, answer } = await resumeRaw(gw.url, dev, h);
    t.equal(answer.body, 'ok');
    r.send([{ req: 20, unregister: {} }]);
    t.equal((await r.reply(20)).error?.code, ErrorCode.AUTH_FAILED, 'no signature: refused');
    const other = generateIdentity();
    r.send([{ req: 21, unregister: { route: dev.route, signature: sign(other.secretKey, unregisterInput(dev.route, dev.device)) } }]);
    t.equal((await r.reply(21)).error?.code, ErrorCode.AUTH_FAILED, 'signed by another key: refused');
    const { dev: stranger } = await registerRaw(gw.url, '+15557780013');
    r.send([{ req: 22, unregister: { route: stranger.route, signature: sign(dev.id.secretKey, unregisterInput(stranger.route, dev.device)) } }]);
    t.equal((await r.reply(22)).error?.code, ErrorCode.AUTH_FAILED, 'another route: refused');
    t.equal(r.ws.readyState, r.ws.OPEN, 'the connection stays');
    r.send([{ req: 23, lookup: { route: dev.route } }]);
    t.equal((await r.reply(23)).devices?.devices.length, 1, 'the device is still registered');
    r.send([{ req: 24, unregister: { route: dev.route, signature: sign(dev.id.secretKey, unregisterInput(dev.route, dev.device)) } }]);
    t.equal((await r.reply(24)).body, 'ok', 'with its identity signature: opted out');
    t.equal((await r.closed).code, CloseCode.UNREGISTERED);
    // A signed connection needs none (SDKs from before the field, the CLI's unregister).
    const { c: c2, dev: dev2 } = await signedDevice(gw.url, '+15557780014');
    c2.send([{ req: 25, unregister: {} }]);
    t.equal((await c2.reply(25)).body, 'ok');
    void dev2;
    await c2.closed;
  });

  t.test('an opt-out on a resumed connection is checked again at the leader when a replica does not know the device', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780015');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const { c: r, answer } = await resumeRaw(gw.url, dev, h);
    t.equal(answer.body, 'ok');
    // The next ordinary read of this route answers as a replica that has not caught up
    // (no entry); reads at the leader, and every later one, see the store as it is.
    const bus = gw.bus;
    const original = bus.directoryGet.bind(bus);
    const tag = routeTag(dev.route);
    let lagging = 1;
    bus.directoryGet = async (key: string, opts?: DirectoryReadOptions) => {
      if (key === tag && opts?.fromLeader !== true && lagging > 0) { lagging--; return null; }
      return original(key, opts);
    };
    t.teardown(() => { bus.directoryGet = original; });
    r.send([{ req: 26, unregister: { route: dev.route, signature: sign(dev.id.secretKey, unregisterInput(dev.route, dev.device)) } }]);
    t.equal((await r.reply(26)).body, 'ok', 'opted out (not NOT_REGISTERED from the lagging read)');
    t.equal(lagging, 0, 'the lagging read was made');
    t.equal((await r.closed).code, CloseCode.UNREGISTERED);
    t.equal(await gw.relay.directory.findDevice(tag, dev.device), null, 'the device is gone');
  });

  t.test('malformed resumes are AUTH_FAILED 4002: both proofs, no proof, a short proof', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780009');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const cases: [string, (nonce: Uint8Array) => Record<string, unknown>][] = [
      ['a signature and a ticket', (n) => ({ signature: sign(dev.id.secretKey, authInput(n, dev.route, dev.device)), ticket: h.ticket, proof: resumeProof(h.secret, n, dev.route, dev.device) })],
      ['a ticket without a proof', () => ({ ticket: h.ticket })],
      ['a short proof', (n) => ({ ticket: h.ticket, proof: resumeProof(h.secret, n, dev.route, dev.device).subarray(0, 31) })],
    ];
    for (const [name, body] of cases) {
      const x = await connectRaw(gw.url);
      const ch = (await x.next((o) => o.body === 'challenge')).challenge!;
      x.send([{ req: 7, auth: { route: dev.route, device: dev.device, ...body(ch.nonce) } }]);
      t.equal((await x.reply(7)).error?.code, ErrorCode.AUTH_FAILED, name);
      t.equal((await x.closed).code, CloseCode.AUTH_FAILED, name);
    }
  });

  t.test('a ticket of another length or version (a newer gateway\'s format) is RESUME_REFUSED, not AUTH_FAILED: the connection then signs', async (t) => {
    const { c, dev } = await signedDevice(gw.url, '+15557780012');
    const h = await requestTicket(c, dev);
    await closeAll(c);
    const v2 = h.ticket.slice();
    v2[0] = 2;
    const cases: [string, Uint8Array][] = [
      ['one byte short', h.ticket.subarray(0, TICKET_BYTES - 1)],
      ['longer', Uint8Array.of(...h.ticket, 0, 0, 0, 0, 0, 0, 0, 0)],
      ['another version byte', v2],
    ];
    for (const [name, ticket] of cases) {
      const { c: r, answer, nonce } = await resumeRaw(gw.url, dev, { ...h, ticket });
      t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, name);
      t.equal((await signedAuthOn(r, dev, nonce, 8)).body, 'ok', `${name}: the same connection then signs`);
      await closeAll(r);
    }
  });

  t.test('ticket_request: not before auth, 32-byte non-low-order keys only, at most 4 per connection', async (t) => {
    const anon = await connectRaw(gw.url);
    await anon.next((o) => o.body === 'challenge');
    anon.send([{ req: 1, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
    t.equal((await anon.reply(1)).error?.code, ErrorCode.NOT_AUTHENTICATED);
    await closeAll(anon);
    const { c, dev } = await signedDevice(gw.url, '+15557780010');
    c.send([{ req: 2, ticketRequest: { publicKey: new Uint8Array(31) } }]);
    t.equal((await c.reply(2)).error?.code, ErrorCode.BAD_REQUEST, 'a 31-byte key');
    c.send([{ req: 3, ticketRequest: { publicKey: new Uint8Array(32) } }]);
    t.equal((await c.reply(3)).error?.code, ErrorCode.BAD_REQUEST, 'a low-order key (all zeros)');
    // The bound counts every request past the length check: the low-order key above was
    // one of the four, so three more get tickets.
    const answers: (string | undefined)[] = [];
    for (let i = 0; i < MAX_TICKET_REQUESTS_PER_CONNECTION + 1; i++) {
      c.send([{ req: 10 + i, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
      const r = await c.reply(10 + i);
      answers.push(r.body === 'ticket' ? 'ticket' : r.error?.code);
    }
    t.same(answers, ['ticket', 'ticket', 'ticket', ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED], 'the low-order try counted; then the bound');
    t.match(await metric(gw, 'hushwire_rate_limited_total'), /limit="ticket_requests"} 2/);
    void dev;
    await closeAll(c);
  });

  t.test('no ticket or secret in the logs', async (t) => {
    noSecretsLogged(t, gw, held);
  });
});

t.test('tickets off (--resume-ticket-ttl-s 0): no resume key, requests UNAVAILABLE, resumes refused', async (t) => {
  const on = await startTestGateway({});
  t.teardown(() => on.close());
  const off = await startTestGateway({ resumeTicketTtlS: 0, oprfKeyFile: undefined });
  t.teardown(() => off.close());
  t.equal(off.resume, 'off');
  const { c, dev } = await signedDevice(off.url, '+15557780011');
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  t.equal(ch.resumeKey.length, 0, 'no resume key in the challenge');
  c.send([{ req: 2, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
  t.equal((await c.reply(2)).error?.code, ErrorCode.UNAVAILABLE);
  await closeAll(c);
  // A ticket from elsewhere (made here by hand: any 69 bytes) is refused, and the
  // connection signs.
  const { c: r, answer, nonce } = await resumeRaw(off.url, dev, { ticket: Uint8Array.of(1, ...randomBytes(TICKET_BYTES - 1)), secret: new Uint8Array(32), expiresInS: 1 });
  t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED);
  t.equal((await signedAuthOn(r, dev, nonce, 8)).body, 'ok');
  await closeAll(r);
});

t.test('resume_key follows the sealing key: the same file gives the same key after a restart; a rotation changes it', async (t) => {
  const dir = tempDir('hw-resume-restart-');
  const keyFile = join(dir, 'resume.keys');
  const k1 = randomBytes(32).toString('hex');
  const k2 = randomBytes(32).toString('hex');
  writeFileSync(keyFile, `${k1}\n`, { mode: 0o600 });
  const first = await startTestGateway({ resumeKeyFile: keyFile });
  const before = await resumeKeyOf(first.url);
  await first.close();
  const again = await startTestGateway({ resumeKeyFile: keyFile });
  t.teardown(() => again.close());
  t.same(await resumeKeyOf(again.url), before, 'restarted with the same file: the same resume_key');
  writeFileSync(keyFile, `${k1}\n${k2}\n`, { mode: 0o600 });
  const step1 = await startTestGateway({ resumeKeyFile: keyFile });
  t.teardown(() => step1.close());
  t.same(await resumeKeyOf(step1.url), before, 'rotation step 1 (new key second): unchanged');
  writeFileSync(keyFile, `${k2}\n${k1}\n`, { mode: 0o600 });
  const step2 = await startTestGateway({ resumeKeyFile: keyFile });
  t.teardown(() => step2.close());
  t.notSame(await resumeKeyOf(step2.url), before, 'step 2 (new key first): another resume_key');
  const own = await startTestGateway({});
  t.teardown(() => own.close());
  t.notSame(await resumeKeyOf(own.url), before, 'a gateway with a key of its own shows its own');
});

t.test('--resume-key-file: keys per line, comments, and clear errors', async (t) => {
  const dir = tempDir('hw-resume-keys-');
  const file = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };
  const k1 = 'ab'.repeat(32);
  const k2 = 'CD'.repeat(32);
  const files = readConfigFiles(resolveConfig({ resumeKeyFile: file('good', `# new key first\n${k1}\n\n  ${k2}  \r\n`) }, {}));
  t.same(files.resumeKeys!.map((k) => Buffer.from(k).toString('hex')), [k1, k2.toLowerCase()]);
  const bad: [string, RegExp][] = [
    ['', /lists no key/],
    ['# only a comment\n', /lists no key/],
    [`${k1}\nnot-a-key\n`, /line 2 of \S+ must hold 64 hex characters/],
    [`${k1}\n${k1}\n`, /line 2 of \S+ repeats a key/],
    [`${'ab'.repeat(31)}\n`, /line 1 .* 64 hex characters/],
    [Array.from({ length: MAX_RESUME_KEYS + 1 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32)).join('\n'), /at most 16/],
  ];
  for (const [i, [text, re]] of bad.entries()) {
    t.throws(() => readConfigFiles(resolveConfig({ resumeKeyFile: file(`bad${i}`, text) }, {})), re);
    try {
      readConfigFiles(resolveConfig({ resumeKeyFile: file(`bad${i}`, text) }, {}));
    } catch (e) {
      t.type(e, ConfigError);
      t.notMatch((e as Error).message, /abab|cdcd/, 'never the key');
    }
  }
  t.throws(() => resolveConfig({ resumeTicketTtlS: 7 * 86_400 + 1 }, {}), /resume-ticket-ttl-s/);
});

/** The resume_key a gateway's challenge shows. */
async function resumeKeyOf(url: string): Promise<Buffer> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  await closeAll(c);
  return Buffer.from(ch.resumeKey);
}

function natsPair(t: Test, prefix: string, keyFile?: string): Promise<[TestGateway, TestGateway]> {
  return natsGatewayPair(t, prefix, { logLevel: 'info', liveTimeoutMs: 30_000, ...(keyFile ? { resumeKeyFile: keyFile } : {}) });
}

if (!haveNatsServer()) {
  t.test('two gateways over NATS', (t) => { t.plan(0, 'nats-server not installed'); t.end(); });
} else {
  t.test('two gateways over NATS with a shared --resume-key-file: a ticket from one resumes at the other', async (t) => {
    const dir = tempDir('hw-resume-shared-');
    const keyFile = join(dir, 'resume.keys');
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const [a, b] = await natsPair(t, 'rs', keyFile);
    t.equal(a.resume, 'shared keys (1)');
    t.notMatch(a.logs(), /no --resume-key-file/, 'no advice when the keys are shared');
    t.same(await resumeKeyOf(a.url), await resumeKeyOf(b.url), 'both show the same resume_key (derived from the shared sealing key)');
    t.equal((await resumeKeyOf(a.url)).length, 32);
    const { c, dev } = await signedDevice(a.url, '+15557780020');
    const h = await requestTicket(c, dev);
    const { c: r, answer } = await resumeRaw(b.url, dev, h);
    t.equal(answer.body, 'ok', 'resumed at the other gateway');
    t.equal((await c.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'and took the device from the first, over the bus');
    await closeAll(r);
  });

  t.test('two gateways over NATS, each with its own key: refused at the other, which the device then signs to', async (t) => {
    const [a, b] = await natsPair(t, 'ro');
    t.match(a.logs(), /resumption tickets: no --resume-key-file, so a device's ticket resumes only at this gateway/, 'the start says why a shared key file helps');
    t.notSame(await resumeKeyOf(a.url), await resumeKeyOf(b.url), 'each shows its own resume_key');
    const { c, dev } = await signedDevice(a.url, '+15557780021');
    const h = await requestTicket(c, dev);
    const { c: r, answer, nonce } = await resumeRaw(b.url, dev, h);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED);
    t.equal((await signedAuthOn(r, dev, nonce, 8)).body, 'ok');
    await closeAll(r, c);
  });
}
