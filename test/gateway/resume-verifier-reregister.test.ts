// A ticket_request racing a re-registration of its device (docs/PROTOCOL.md section 13:
// "a device id registered again, even with the same identity key, has no ticket from
// before"). A connection authenticated before the device was registered again elsewhere
// is kicked only when that gateway's kick reaches it; a ticket it asks for meanwhile
// must not be sealed for the new registration (its verifier written into the new
// record, the ticket bound to the new identity key): whoever held the old connection (an
// old key the owner registered again to shut out) would resume as the new registration.
// The re-registration is played by writing the record directly, as a gateway elsewhere
// would have, with no kick: the window the race leaves, held open. Embedded bus.
import t from 'tap';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { type RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { requestTicket, resumeRaw, closeAll, signedDevice, resumeKeyFile } from '../helpers/resume.ts';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { x25519KeyPair } from '../../relay/crypto/x25519.ts';
import { routeTag } from '../../relay/tokens.ts';
import { devicesOf } from '../../relay/directory.ts';
import { deviceProps } from '../../relay/privacy/devices.ts';
import { wire } from '../../relay/wire.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { ErrorCode } from '../../relay/errors.ts';

const keyFile = (): string => resumeKeyFile('hw-resume-rereg-').file;

/** The device registered again at another gateway (a new record: `identityKey`, a later
 *  registration time, no verifiers), its kick not here yet. */
async function registeredAgainElsewhere(gw: TestGateway, dev: RawDevice, identityKey: Uint8Array): Promise<void> {
  const tag = routeTag(dev.route);
  const rec = await gw.bus.directoryGet(tag);
  const devices = devicesOf(rec).map((d) => (bytesEqual(d.device, dev.device)
    ? { ...deviceProps(d), identityKey, registeredAtMs: Number(d.registeredAtMs) + 1_000, lastSeenMs: Number(d.registeredAtMs) + 1_000, resumeVerifiers: [] }
    : deviceProps(d)));
  if ((await gw.bus.directoryPut(tag, wire.DirectoryEntry.encode({ devices }).finish(), rec!.revision)) === null) throw new Error('conflict');
}

async function verifiers(gw: TestGateway, dev: RawDevice): Promise<number> {
  const me = devicesOf(await gw.bus.directoryGet(routeTag(dev.route))).find((d) => bytesEqual(d.device, dev.device));
  return me?.resumeVerifiers.length ?? -1;
}

async function askRaw(c: RawClient, req: number) {
  c.send([{ req, ticketRequest: { publicKey: x25519KeyPair().publicKey } }]);
  return c.reply(req);
}

t.test('a ticket_request on a connection of the device\'s previous registration gets no ticket', async (t) => {
  const gw = await startTestGateway({ resumeKeyFile: keyFile(), logLevel: 'warn' });
  t.teardown(() => gw.close());
  const issued = async (): Promise<string> => gw.metrics.registry.getSingleMetricAsString('hushwire_resume_tickets_issued_total');

  await t.test('the registering connection and a signed one get theirs (unchanged record)', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, freshNumber());
    await requestTicket(reg, dev, 11);
    const c = await authenticateRaw(gw.url, dev);
    const h = await requestTicket(c, dev, 12);
    const { c: r, answer } = await resumeRaw(gw.url, dev, h);
    t.equal(answer.body, 'ok', 'resumed');
    await requestTicket(r, dev, 13).then(() => t.pass('a resumed connection gets one too'));
    t.equal(await verifiers(gw, dev), 2, 'the resumed connection\'s renews the ticket it resumed with (its verifier replaced)');
    await closeAll(reg, c, r);
  });

  // One receiving connection per device at a time (the next takes it over): each kind of
  // connection on a device of its own.
  const kinds = {
    registering: async (): Promise<{ c: RawClient; dev: RawDevice }> => registerRaw(gw.url, freshNumber()),
    signed: async (): Promise<{ c: RawClient; dev: RawDevice }> => signedDevice(gw.url, freshNumber()),
    resumed: async (): Promise<{ c: RawClient; dev: RawDevice }> => {
      const { c: reg, dev } = await registerRaw(gw.url, freshNumber());
      const held = await requestTicket(reg, dev, 21);
      await closeAll(reg);
      const { c, answer } = await resumeRaw(gw.url, dev, held);
      if (answer.body !== 'ok') throw new Error(`resume: ${JSON.stringify(answer.error)}`);
      return { c, dev };
    },
  };
  for (const [what, newKey] of [['a new identity key', true], ['the same identity key', false]] as const) {
    await t.test(`registered again with ${what}: registering, signed and resumed connections of before get no ticket`, async (t) => {
      for (const [name, open] of Object.entries(kinds)) {
        const { c, dev } = await open();
        const had = await verifiers(gw, dev);
        await registeredAgainElsewhere(gw, dev, newKey ? generateIdentity().publicKey : dev.id.publicKey);
        const before = await issued();
        const a = await askRaw(c, 30);
        t.equal(a.error?.code, ErrorCode.NOT_REGISTERED, `${name} (${had} verifiers before): NOT_REGISTERED, its registration is gone (got ${a.body})`);
        t.equal(await issued(), before, `${name}: no ticket issued`);
        t.equal(await verifiers(gw, dev), 0, `${name}: nothing written into the new record`);
        await closeAll(c);
      }
    });
  }
});
