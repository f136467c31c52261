// Resume verifiers (docs/PROTOCOL.md section 13): a ticket is honoured only while the
// device's directory record holds its secret's verifier, written when the ticket was
// issued. On the embedded bus and on a real nats-server, each gateway with a known
// --resume-key-file so the test can play a thief of that file:
//   - a ticket sealed with the real ticket key for a registered device, with a secret of
//     the sealer's choosing and a correct proof for it, is RESUME_REFUSED (metric
//     `refused`), the connection kept for a signed auth;
//   - 5 tickets (4 at once on one connection, 1 on the next): the oldest no longer
//     resumes, the newest 4 do;
//   - a re-registration of the device (new key, or the same key) drops the verifiers;
//   - a prekey rotation and a new-device notice (other writers of the record) keep them;
//   - the record holds the verifier, never the secret; no frame to any client (lookup
//     answers included) carries a verifier;
//   - a failed directory write fails the ticket request (UNAVAILABLE, no ticket), and a
//     device a lagging replica does not list gets its ticket through the leader.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway, natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { requestTicket, resumeRaw, signedAuthOn, closeAll, resumeKeyFile, type Held } from '../helpers/resume.ts';
import { generateIdentity, sign, registerInput, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { resumeVerifier, MAX_RESUME_VERIFIERS } from '../../relay/crypto/resume.ts';
import { ResumeTickets } from '../../relay/resume-tickets.ts';
import { MAX_TICKET_REQUESTS_PER_CONNECTION } from '../../relay/session.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { devicesOf } from '../../relay/directory.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { CloseCode, ErrorCode, HushwireError } from '../../relay/errors.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';

/** The test's clients, for the check that no frame they received carries a verifier. */
const clients: RawClient[] = [];
function watched(c: RawClient): RawClient {
  clients.push(c);
  return c;
}

async function freshDevice(url: string): Promise<{ c: RawClient; dev: RawDevice }> {
  const { c: reg, dev } = await registerRaw(url, freshNumber());
  watched(reg);
  await closeAll(reg);
  return { c: watched(await authenticateRaw(url, dev)), dev };
}

async function resume(url: string, dev: RawDevice, held: Pick<Held, 'ticket' | 'secret'>) {
  const r = await resumeRaw(url, dev, held);
  watched(r.c);
  return r;
}

/** The device's record as stored (the bytes, and decoded). */
async function stored(gw: TestGateway, dev: RawDevice) {
  const rec = await gw.bus.directoryGet(routeTag(dev.route));
  const me = devicesOf(rec).find((d) => bytesEqual(d.device, dev.device)) ?? null;
  return { bytes: Buffer.from(rec?.value ?? new Uint8Array(0)), me };
}

function verifiersOf(me: { resumeVerifiers: Uint8Array[] } | null): string[] {
  return (me?.resumeVerifiers ?? []).map((v) => Buffer.from(v).toString('hex'));
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Registers `dev`'s device id again (verify_start, register), with `identity`. */
async function registerAgain(url: string, dev: RawDevice, identity: ReturnType<typeof generateIdentity>): Promise<void> {
  const c = watched(await connectRaw(url));
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, verifyStart: { number: dev.number } }]);
  const vs = await c.reply(1);
  if (vs.body !== 'verifyStarted') throw new Error(`verifyStart failed: ${JSON.stringify(vs.error)}`);
  const prekey = generateKeyPair();
  c.send([{
    req: 2,
    register: {
      number: dev.number, code: vs.verifyStarted!.devCode, device: dev.device, identityKey: identity.publicKey, prekey: prekey.publicKey,
      prekeySignature: sign(identity.secretKey, prekeyInput(prekey.publicKey)),
      signature: sign(identity.secretKey, registerInput(ch.nonce, dev.device, identity.publicKey, prekey.publicKey)),
      blinded: blindNumbers([dev.number]).blinded[0],
    },
  }]);
  const r = await c.reply(2);
  if (r.body !== 'registered') throw new Error(`register failed: ${JSON.stringify(r.error)}`);
  await closeAll(c);
}

function refusedCount(text: string): number {
  return Number(/result="refused"} (\d+)/.exec(text)?.[1] ?? 0);
}

async function checks(t: Test, gw: TestGateway, ticketKey: Uint8Array): Promise<void> {
  const allVerifiers: Uint8Array[] = [];
  const ask = async (c: RawClient, dev: RawDevice, req?: number): Promise<Held> => {
    const h = await requestTicket(c, dev, req);
    allVerifiers.push(resumeVerifier(h.ticket, h.secret));
    return h;
  };
  const refused = async (): Promise<number> => refusedCount(await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_resumes_total'));

  await t.test('a ticket sealed with the real ticket key for a secret of the sealer\'s choosing is RESUME_REFUSED', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    // The thief holds the ticket key and what a lookup answers (route, device, identity key).
    const thief = new ResumeTickets([ticketKey], 86_400);
    const forge = () => {
      const secret = new Uint8Array(randomBytes(32));
      return { ticket: thief.seal(routeTag(dev.route), deviceToken(dev.device), dev.id.publicKey, secret).ticket, secret };
    };
    const forged = forge();
    t.same(gw.relay.resume!.tickets.open(forged.ticket, routeTag(dev.route), deviceToken(dev.device), dev.id.publicKey), forged.secret,
      'the forged ticket opens under the gateway\'s key: only the verifier tells it apart');
    const before = await refused();
    const { c: r, answer, nonce } = await resume(gw.url, dev, forged);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'no ticket of the device issued yet: refused');
    t.equal(r.ws.readyState, r.ws.OPEN, 'the connection stays open');
    t.equal(await refused(), before + 1, 'counted as refused, like a ticket that does not open');
    t.equal((await signedAuthOn(r, dev, nonce, 8)).body, 'ok', 'the same connection then signs');
    t.equal((await c.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'the signed one took the device (the forged one did not)');
    // The device now holds a real ticket: a forged one is still refused, the real one resumes.
    const real = await ask(r, dev);
    const again = forge();
    const { c: r2, answer: a2 } = await resume(gw.url, dev, again);
    t.equal(a2.error?.code, ErrorCode.RESUME_REFUSED, 'with verifiers in the record: still refused');
    t.equal(r.ws.readyState, r.ws.OPEN, 'and the device was not kicked');
    const { c: r3, answer: a3 } = await resume(gw.url, dev, real);
    t.equal(a3.body, 'ok', 'the issued ticket resumes');
    await closeAll(r, r2, r3);
  });

  await t.test('5 tickets: the oldest no longer resumes, the newest 4 do', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    t.equal(MAX_TICKET_REQUESTS_PER_CONNECTION, MAX_RESUME_VERIFIERS);
    // 4 at once on one connection: each write retried on the others' conflicts.
    const first = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(c, dev, 60 + i)));
    const { me } = await stored(gw, dev);
    t.same(verifiersOf(me).sort(), first.map((h) => hexOf(resumeVerifier(h.ticket, h.secret))).sort(), 'all 4 in the record');
    // Which was written first is the order the gateway applied them: the last in the list.
    const oldest = first.find((h) => hexOf(resumeVerifier(h.ticket, h.secret)) === verifiersOf(me)[3])!;
    const newer = first.filter((h) => h !== oldest);
    // The fifth on a signed connection (one that resumed would renew its ticket instead:
    // test/gateway/resume-reseal.test.ts).
    const r = watched(await authenticateRaw(gw.url, dev));
    const fifth = await ask(r, dev);
    const after = await stored(gw, dev);
    t.equal(after.me!.resumeVerifiers.length, MAX_RESUME_VERIFIERS, 'still 4');
    t.equal(verifiersOf(after.me)[0], hexOf(resumeVerifier(fifth.ticket, fifth.secret)), 'the newest first');
    const { c: x, answer: old, nonce } = await resume(gw.url, dev, oldest);
    t.equal(old.error?.code, ErrorCode.RESUME_REFUSED, 'the oldest is refused');
    t.equal((await signedAuthOn(x, dev, nonce, 8)).body, 'ok', 'and its connection signs');
    const held: RawClient[] = [c, r, x];
    for (const [i, h] of [...newer, fifth].entries()) {
      const { c: y, answer: a } = await resume(gw.url, dev, h);
      t.equal(a.body, 'ok', `one of the newest 4 resumes (${i + 1})`);
      held.push(y);
    }
    await closeAll(...held);
  });

  await t.test('a re-registration of the device drops its verifiers: its old tickets are refused', async (t) => {
    // The same identity key again (the ticket still opens: only the verifier refuses it),
    // then a new one.
    const { c, dev } = await freshDevice(gw.url);
    const h = await ask(c, dev);
    await closeAll(c);
    await registerAgain(gw.url, dev, dev.id);
    t.same(verifiersOf((await stored(gw, dev)).me), [], 'the new record has none');
    t.ok(gw.relay.resume!.tickets.open(h.ticket, routeTag(dev.route), deviceToken(dev.device), dev.id.publicKey) !== null, 'the ticket still opens (same key)');
    const { c: r, answer, nonce } = await resume(gw.url, dev, h);
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'refused');
    t.equal((await signedAuthOn(r, dev, nonce, 8)).body, 'ok', 'the device signs');
    const h2 = await ask(r, dev);
    await closeAll(r);
    const other = generateIdentity();
    await registerAgain(gw.url, dev, other);
    t.same(verifiersOf((await stored(gw, dev)).me), [], 'a new identity key: none either');
    const { c: r2, answer: a2 } = await resume(gw.url, dev, h2);
    t.equal(a2.error?.code, ErrorCode.RESUME_REFUSED);
    await closeAll(r2);
  });

  await t.test('a prekey rotation and a new-device notice keep the verifiers: the ticket still resumes', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const h = await ask(c, dev);
    const kp = generateKeyPair();
    c.send([{ req: 70, setPrekey: { prekey: kp.publicKey, prekeySignature: sign(dev.id.secretKey, prekeyInput(kp.publicKey)) } }]);
    t.equal((await c.reply(70)).body, 'ok', 'prekey rotated');
    const after = await stored(gw, dev);
    t.ok(bytesEqual(after.me!.prekey, kp.publicKey), 'the record holds the new prekey');
    t.same(verifiersOf(after.me), [hexOf(resumeVerifier(h.ticket, h.secret))], 'and still the verifier');
    const { c: r, answer } = await resume(gw.url, dev, h);
    t.equal(answer.body, 'ok', 'resumed after the rotation');
    // A second device of the number: the first one's record is flagged, the notice shown
    // live, the flag cleared (two more edits of its record).
    const { c: second } = await registerRaw(gw.url, dev.number);
    watched(second);
    t.equal((await r.next((o) => o.body === 'notice')).notice?.kind, 'new_device', 'the first device heard of the second');
    const noticed = await stored(gw, dev);
    t.same(verifiersOf(noticed.me), [hexOf(resumeVerifier(h.ticket, h.secret))], 'the verifier kept');
    const { c: r2, answer: a2 } = await resume(gw.url, dev, h);
    t.equal(a2.body, 'ok', 'resumed after the notice');
    await closeAll(r, r2, second);
  });

  await t.test('the record holds each verifier, never a secret; no frame to a client carries a verifier', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const h = await ask(c, dev);
    const { bytes } = await stored(gw, dev);
    t.ok(bytes.includes(Buffer.from(resumeVerifier(h.ticket, h.secret))), 'the stored record holds the verifier');
    t.notOk(bytes.includes(Buffer.from(h.secret.subarray(0, 8))), 'and no run of the secret');
    // Lookups of the route: by the device itself and by a device of another number.
    const { c: looker } = await freshDevice(gw.url);
    c.send([{ req: 80, lookup: { route: dev.route } }]);
    looker.send([{ req: 81, lookup: { route: dev.route } }]);
    t.equal((await c.reply(80)).devices!.devices.length, 1);
    t.equal((await looker.reply(81)).devices!.devices.length, 1);
    await closeAll(c, looker);
    const frames = clients.flatMap((x) => x.frames);
    t.ok(frames.length > 50, `frames captured (${frames.length})`);
    t.ok(allVerifiers.length >= 10, `verifiers of this run (${allVerifiers.length})`);
    const leaks = frames.filter((f) => allVerifiers.some((v) => f.includes(Buffer.from(v))));
    t.equal(leaks.length, 0, 'no frame to a client holds a verifier (lookup answers included)');
  });
}

const keyFile = (): { file: string; key: Uint8Array } => resumeKeyFile('hw-resume-verifier-');

t.test('embedded bus', async (t) => {
  const { file, key } = keyFile();
  const gw = await startTestGateway({ resumeKeyFile: file, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await checks(t, gw, key);
});

t.test('ticket_request: a failed directory write fails it (no ticket); a replica that has not seen the device does not', async (t) => {
  const { file } = keyFile();
  const gw = await startTestGateway({ resumeKeyFile: file, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { c, dev } = await freshDevice(gw.url);
  const bus = gw.bus;
  const realPut = bus.directoryPut.bind(bus);
  const realGet = bus.directoryGet.bind(bus);
  const issued = async (): Promise<string> => gw.metrics.registry.getSingleMetricAsString('hushwire_resume_tickets_issued_total');
  const before = await issued();
  bus.directoryPut = () => Promise.reject(new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable'));
  c.send([{ req: 90, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
  const r = await c.reply(90);
  t.equal(r.error?.code, ErrorCode.UNAVAILABLE, 'the write failed: UNAVAILABLE');
  t.equal(await issued(), before, 'no ticket issued');
  t.same(verifiersOf((await stored(gw, dev)).me), [], 'nothing in the record');
  t.equal(c.ws.readyState, c.ws.OPEN, 'the connection stays');
  bus.directoryPut = realPut;
  // Ordinary reads from a replica that lags (the device unknown there), the leader's real.
  let leaderReads = 0;
  bus.directoryGet = (tag, opts) => {
    if (opts?.fromLeader === true) {
      leaderReads++;
      return realGet(tag, opts);
    }
    return Promise.resolve(null);
  };
  const h = await requestTicket(c, dev, 91);
  bus.directoryGet = realGet;
  t.ok(leaderReads > 0, 'asked the leader');
  t.same(verifiersOf((await stored(gw, dev)).me), [hexOf(resumeVerifier(h.ticket, h.secret))], 'the verifier written');
  const { c: x, answer } = await resume(gw.url, dev, h);
  t.equal(answer.body, 'ok');
  await closeAll(c, x);
});

t.test('nats-server', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const { file, key } = keyFile();
  const gw = await natsTestGateway(t, 'rv', { resumeKeyFile: file });
  await checks(t, gw, key);
});
