// Resume verifiers, the weaknesses a first version left (docs/PROTOCOL.md section 13), on
// the embedded bus and on a real nats-server, each gateway with a known --resume-key-file:
//   - a ticket key and a ticket's secret taken from a device re-seal that secret with
//     another expiry: RESUME_REFUSED (the verifier binds the whole ticket as issued);
//   - a resume whose ordinary directory read misses the device or the ticket's verifier
//     (a replica that lags) is read again at the leader and resumes;
//   - a connection that closes while its ticket's verifier is written leaves no verifier
//     behind (its ticket was never sent: it would only push an older one out);
//   - a ticket asked for on a resumed connection renews the one it resumed with: that
//     one's verifier leaves the record in the same edit, no slot used up.
import t, { type Test } from 'tap';
import { startTestGateway, natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { type RawClient } from '../helpers/raw.ts';
import type { RawDevice } from '../helpers/raw-device.ts';
import { requestTicket, resumeRaw, signedAuthOn, closeAll, signedDevice, resumeKeyFile } from '../helpers/resume.ts';
import { resumeVerifier } from '../../relay/crypto/resume.ts';
import { ResumeTickets } from '../../relay/resume-tickets.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { devicesOf } from '../../relay/directory.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';
import type { DirectoryReadOptions } from '../../relay/bus/bus.ts';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const freshDevice = (url: string): Promise<{ c: RawClient; dev: RawDevice }> => signedDevice(url, freshNumber());

/** The device's record's verifiers as stored (hex, newest first). */
async function verifiersOf(gw: TestGateway, dev: RawDevice): Promise<string[]> {
  const me = devicesOf(await gw.bus.directoryGet(routeTag(dev.route), { fromLeader: true })).find((d) => bytesEqual(d.device, dev.device));
  return (me?.resumeVerifiers ?? []).map(hexOf);
}

async function metric(gw: TestGateway, name: string, label: string): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString(name);
  const line = label === '' ? new RegExp(`^${name} (\\d+)`, 'm') : new RegExp(`${label}} (\\d+)`);
  return Number(line.exec(text)?.[1] ?? 0);
}

async function checks(t: Test, gw: TestGateway, ticketKey: Uint8Array): Promise<void> {
  await t.test('a captured secret re-sealed with another expiry under the real ticket key is RESUME_REFUSED', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const held = await requestTicket(c, dev, 60);
    // The thief holds the ticket key and the device's ticket and secret (its memory),
    // and seals the secret again with a later expiry (its clock two minutes on: within
    // the 5 minutes of clock skew a gateway allows).
    const thief = new ResumeTickets([ticketKey], held.expiresInS, () => Date.now() + 120_000);
    const resealed = thief.seal(routeTag(dev.route), deviceToken(dev.device), dev.id.publicKey, held.secret).ticket;
    t.same(gw.relay.resume!.tickets.open(resealed, routeTag(dev.route), deviceToken(dev.device), dev.id.publicKey), held.secret,
      'the re-sealed ticket opens under the gateway\'s key with the device\'s secret: only the verifier tells it apart');
    const { c: x, answer, nonce } = await resumeRaw(gw.url, dev, { ticket: resealed, secret: held.secret });
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'the re-sealed ticket is refused');
    t.equal(x.ws.readyState, x.ws.OPEN, 'the connection stays for a signature');
    t.equal(c.ws.readyState, c.ws.OPEN, 'the device was not kicked');
    const { c: y, answer: real } = await resumeRaw(gw.url, dev, held);
    t.equal(real.body, 'ok', 'the ticket as issued still resumes');
    t.equal((await signedAuthOn(x, dev, nonce, 8)).body, 'ok', 'the refused connection signs');
    await closeAll(c, x, y);
  });

  await t.test('a resume whose ordinary read misses the verifier or the device is read again at the leader', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const tag = routeTag(dev.route);
    const before = await gw.bus.directoryGet(tag, { fromLeader: true }); // the record without the verifier
    const held = await requestTicket(c, dev, 61);
    await closeAll(c);
    const realGet = gw.bus.directoryGet.bind(gw.bus);
    const reads: string[] = [];
    for (const [what, stale] of [['a replica that has not seen the verifier', before], ['a replica that has not seen the device', null]] as const) {
      reads.length = 0;
      const accepted = await metric(gw, 'hushwire_auth_directory_rechecks_total', 'outcome="accepted"');
      gw.bus.directoryGet = (tg: string, opts?: DirectoryReadOptions) => {
        if (tg !== tag) return realGet(tg, opts);
        reads.push(opts?.fromLeader === true ? 'leader' : 'ordinary');
        return opts?.fromLeader === true ? realGet(tg, opts) : Promise.resolve(stale);
      };
      try {
        const { c: r, answer } = await resumeRaw(gw.url, dev, held);
        t.equal(answer.body, 'ok', `${what}: resumed`);
        t.same(reads.slice(0, 2), ['ordinary', 'leader'], `${what}: read at the leader after the ordinary read`);
        t.equal(await metric(gw, 'hushwire_auth_directory_rechecks_total', 'outcome="accepted"'), accepted + 1, `${what}: counted as a recheck accepted`);
        await closeAll(r);
      } finally {
        gw.bus.directoryGet = realGet;
      }
    }
    // A ticket whose verifier the leader does not hold either: refused after one leader read.
    const refused = await metric(gw, 'hushwire_auth_directory_rechecks_total', 'outcome="refused"');
    const thief = new ResumeTickets([ticketKey], held.expiresInS);
    const forged = thief.seal(tag, deviceToken(dev.device), dev.id.publicKey, held.secret).ticket;
    const { c: x, answer } = await resumeRaw(gw.url, dev, { ticket: forged, secret: held.secret });
    t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'not at the leader either: refused');
    t.equal(await metric(gw, 'hushwire_auth_directory_rechecks_total', 'outcome="refused"'), refused + 1, 'counted as a recheck refused');
    await closeAll(x);
  });

  await t.test('a connection closed while its verifier is written leaves no verifier in the record', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const tag = routeTag(dev.route);
    const kept = await requestTicket(c, dev, 62);
    // Ordinary reads of the record come from a replica that stays at this revision (it
    // never sees the verifier about to be written): the removal must read at the leader.
    const stale = await gw.bus.directoryGet(tag, { fromLeader: true });
    const realGet = gw.bus.directoryGet.bind(gw.bus);
    gw.bus.directoryGet = (tg: string, opts?: DirectoryReadOptions) => (tg === tag && opts?.fromLeader !== true ? Promise.resolve(stale) : realGet(tg, opts));
    const realPut = gw.bus.directoryPut.bind(gw.bus);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let held = false;
    let written = false;
    gw.bus.directoryPut = async (tg: string, value: Uint8Array, revision: number) => {
      if (tg !== tag || held) return realPut(tg, value, revision);
      held = true;
      await gate;
      const rev = await realPut(tg, value, revision);
      written = rev !== null;
      return rev;
    };
    const issued = await metric(gw, 'hushwire_resume_tickets_issued_total', '');
    const authenticated = await metric(gw, 'hushwire_authenticated_devices', '');
    try {
      c.send([{ req: 63, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
      await until('the verifier write under way', () => held, 10_000);
      c.close();
      await c.closed;
      await until('the gateway saw the close', async () => (await metric(gw, 'hushwire_authenticated_devices', '')) < authenticated, 10_000);
      release();
      await until('the verifier written', () => written, 10_000);
      await until('the verifier taken out again', async () => (await verifiersOf(gw, dev)).length === 1, 10_000);
    } finally {
      gw.bus.directoryPut = realPut;
      gw.bus.directoryGet = realGet;
    }
    t.same(await verifiersOf(gw, dev), [hexOf(resumeVerifier(kept.ticket, kept.secret))], 'only the ticket that was sent');
    t.equal(await metric(gw, 'hushwire_resume_tickets_issued_total', ''), issued, 'no ticket issued');
    const { c: r, answer } = await resumeRaw(gw.url, dev, kept);
    t.equal(answer.body, 'ok', 'the earlier ticket still resumes');
    await closeAll(r);
  });

  await t.test('a ticket asked for on a resumed connection renews the one it resumed with', async (t) => {
    const { c, dev } = await freshDevice(gw.url);
    const a = await requestTicket(c, dev, 64);
    const b = await requestTicket(c, dev, 65);
    await closeAll(c);
    const { c: r, answer } = await resumeRaw(gw.url, dev, a);
    t.equal(answer.body, 'ok');
    const renewed = await requestTicket(r, dev, 66);
    const v = (h: { ticket: Uint8Array; secret: Uint8Array }): string => hexOf(resumeVerifier(h.ticket, h.secret));
    t.same(await verifiersOf(gw, dev), [v(renewed), v(b)], 'the renewed ticket\'s verifier replaced the one it resumed with');
    const again = await requestTicket(r, dev, 67);
    t.same(await verifiersOf(gw, dev), [v(again), v(renewed), v(b)], 'a second request on the connection only adds');
    const { c: x, answer: old } = await resumeRaw(gw.url, dev, a);
    t.equal(old.error?.code, ErrorCode.RESUME_REFUSED, 'the ticket renewed is refused');
    const { c: y, answer: nb } = await resumeRaw(gw.url, dev, b);
    t.equal(nb.body, 'ok', 'the other ticket still resumes');
    const { c: z, answer: nr } = await resumeRaw(gw.url, dev, renewed);
    t.equal(nr.body, 'ok', 'the renewed one resumes');
    await closeAll(r, x, y, z);
  });
}

t.test('embedded bus', async (t) => {
  const { file, key } = resumeKeyFile('hw-resume-reseal-');
  const gw = await startTestGateway({ resumeKeyFile: file, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await checks(t, gw, key);
});

t.test('nats-server', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const { file, key } = resumeKeyFile('hw-resume-reseal-');
  const gw = await natsTestGateway(t, 'rs', { resumeKeyFile: file });
  await checks(t, gw, key);
});
