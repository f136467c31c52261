// A ticket_request whose resume verifier write landed but lost its answer (the request
// timed out after the bus applied it) failed UNAVAILABLE, no ticket sent, and its
// verifier stayed in the device's record: one of the 4 slots used by a ticket nobody
// holds, pushing out a ticket the device does hold. A retry cannot write the same
// verifier again (each request brings a new key, each ticket its own IV and expiry), so
// now the failed request takes its verifier out again (revision-checked) before it is
// answered, and on a connection that resumed, puts back the verifier of the ticket it was
// renewing, which that connection may still renew.
// On the embedded bus and a real nats-server; the gateway's directory writes lose their
// answer on demand (helpers/bus-hooks.ts failDirectoryWrites).
import t, { type Test } from 'tap';
import { startTestGateway, natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import type { RawClient } from '../helpers/raw.ts';
import { authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { requestTicket, resumeRaw, closeAll, signedDevice, resumeKeyFile } from '../helpers/resume.ts';
import { failDirectoryWrites } from '../helpers/bus-hooks.ts';
import { resumeVerifier, MAX_RESUME_VERIFIERS } from '../../relay/crypto/resume.ts';
import { routeTag } from '../../relay/tokens.ts';
import { devicesOf } from '../../relay/directory.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const keyFile = (): string => resumeKeyFile('hw-resume-lost-').file;

/** The verifiers in the device's record (hex, newest first). */
async function verifiers(gw: TestGateway, dev: RawDevice): Promise<string[]> {
  const me = devicesOf(await gw.bus.directoryGet(routeTag(dev.route))).find((d) => bytesEqual(d.device, dev.device));
  return (me?.resumeVerifiers ?? []).map(hexOf);
}

async function resumes(t: Test, gw: TestGateway, dev: RawDevice, h: { ticket: Uint8Array; secret: Uint8Array }): Promise<boolean> {
  const { c, answer } = await resumeRaw(gw.url, dev, h);
  t.teardown(() => c.close());
  const ok = answer.body === 'ok';
  await closeAll(c);
  return ok;
}

/** A ticket request on `c` whose verifier write lands and loses its answer. */
async function lostRequest(t: Test, c: RawClient, dir: { lose: number }, req: number): Promise<void> {
  dir.lose = 1;
  c.send([{ req, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
  const r = await c.reply(req);
  t.equal(r.error?.code, ErrorCode.UNAVAILABLE, 'the write landed, its answer was lost: UNAVAILABLE, no ticket');
  t.equal(dir.lose, 0, 'the write was made');
}

async function checks(t: Test, gw: TestGateway): Promise<void> {
  const dir = failDirectoryWrites(t, gw.bus);

  await t.test('a signed connection: the lost ticket\'s verifier leaves the record; the device\'s tickets keep their slots', async (t) => {
    const { c, dev } = await signedDevice(gw.url, freshNumber());
    t.teardown(() => c.close());
    const h1 = await requestTicket(c, dev, 50);
    const v1 = hexOf(resumeVerifier(h1.ticket, h1.secret));
    t.same(await verifiers(gw, dev), [v1]);
    await lostRequest(t, c, dir, 51);
    t.same(await verifiers(gw, dev), [v1], 'only the ticket the device holds: the lost one was taken out');
    t.equal(c.ws.readyState, c.ws.OPEN, 'the connection stays');
    // The device fills its other slots (MAX_RESUME_VERIFIERS in all): its first ticket
    // keeps one. Had the lost verifier stayed, it would have pushed that ticket out.
    const c2 = await authenticateRaw(gw.url, dev);
    t.teardown(() => c2.close());
    const more = [];
    for (let i = 0; i < MAX_RESUME_VERIFIERS - 1; i++) more.push(await requestTicket(c2, dev, 60 + i));
    t.equal((await verifiers(gw, dev)).length, MAX_RESUME_VERIFIERS);
    t.ok(await resumes(t, gw, dev, h1), 'the first ticket still resumes');
    for (const h of more) t.ok(await resumes(t, gw, dev, h), 'and each later one');
    await closeAll(c, c2);
  });

  await t.test('a renewal on a resumed connection: the renewed ticket\'s verifier comes back, and can still be renewed', async (t) => {
    const { c, dev } = await signedDevice(gw.url, freshNumber());
    t.teardown(() => c.close());
    const h1 = await requestTicket(c, dev, 50);
    const v1 = hexOf(resumeVerifier(h1.ticket, h1.secret));
    await closeAll(c);
    const { c: r, answer } = await resumeRaw(gw.url, dev, h1);
    t.teardown(() => r.close());
    t.equal(answer.body, 'ok', 'resumed with the first ticket');
    await lostRequest(t, r, dir, 70);
    t.same(await verifiers(gw, dev), [v1], 'the ticket being renewed is back, the lost one gone');
    const h2 = await requestTicket(r, dev, 71);
    t.same(await verifiers(gw, dev), [hexOf(resumeVerifier(h2.ticket, h2.secret))], 'the next request on the connection renews it: its verifier replaced');
    await closeAll(r);
    t.ok(await resumes(t, gw, dev, h2), 'the new ticket resumes');
  });
}

t.test('embedded bus', async (t) => {
  const gw = await startTestGateway({ resumeKeyFile: keyFile(), logLevel: 'warn' });
  t.teardown(() => gw.close());
  await checks(t, gw);
});

t.test('nats-server', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const gw = await natsTestGateway(t, 'rla', { resumeKeyFile: keyFile() });
  await checks(t, gw);
});
