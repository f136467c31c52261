// A received message's record (state.json) is written with the device check
// (client/store.ts writeForDevice): the profile's device record is read before the write
// and again after it. When that second read fails (the store failing just then: a file
// descriptor limit, an I/O error, a busy IndexedDB), the write has landed: the message's
// id is on disk. Rejecting it then made the inbox take the message for not recorded (not
// shown, not acknowledged, "delivered again"), while the next session found its id
// recorded and dropped the redelivery as seen: shown in no session. A message must be
// shown exactly once across the two sessions.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { sealEnvelope } from '../../relay/crypto/seal.ts';
import { Inbox } from '../../client/inbox.ts';
import { ProfileState, readState } from '../../client/profile-data.ts';
import { MemoryStore, DEVICE_RECORD, STATE_RECORD, type ProfileRecord } from '../../client/store.ts';

function bytes(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

const prekey = generateKeyPair();
const me = { route: bytes(32), device: bytes(16), prekeySecret: prekey.secretKey };

/** A store whose reads of device.json fail once `brokenAfterStateWrite` is set and a
 *  state.json write has landed: the device check after the write cannot be made. */
class FlakyStore extends MemoryStore {
  brokenAfterStateWrite = false;
  broken = false;
  override async read(record: ProfileRecord): Promise<string | undefined> {
    if (record === DEVICE_RECORD && this.broken) throw Object.assign(new Error('too many open files (profile file device.json)'), { code: 'EMFILE' });
    return super.read(record);
  }
  override async write(record: ProfileRecord, text: string): Promise<void> {
    await super.write(record, text);
    if (record === STATE_RECORD && this.brokenAfterStateWrite) this.broken = true;
  }
}

t.test('a state write that landed but whose device check after it could not be read: the message is shown in exactly one session', async (t) => {
  const store = new FlakyStore();
  await store.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(me.device) }));
  const id = generateIdentity();
  const sender = { route: bytes(32), device: bytes(16), identitySecret: id.secretKey, identityPublic: id.publicKey, number: '+15550100001' };
  const env = sealEnvelope({
    recipient: { route: me.route, device: me.device, prekey: prekey.publicKey },
    sender,
    body: new TextEncoder().encode('once'),
    seq: 0,
    clientTs: 1_700_000_000_000,
  });

  // The inbox's pauses between write attempts are unref'd (an open client's socket keeps
  // the process alive); here nothing else would.
  const alive = setInterval(() => {}, 1_000);
  t.teardown(() => clearInterval(alive));
  const shown: string[] = [];
  const session = async (state: ProfileState) => {
    const acked: string[] = [];
    const inbox = new Inbox({ me, state, ack: (ids) => { for (const i of ids) acked.push(bytesToHex(i)); }, verifySender: async () => 'ok', storeRetryMs: 5 });
    inbox.deliver([env]);
    await inbox.idle();
    // Nothing queued: the delivery was dropped (as seen) and there is nothing to take.
    // (A message recorded, or messages() ended by the store's failures: next() settles.)
    const r = inbox.queued > 0 ? await inbox.next().then((x) => x, () => null) : null;
    if (r && !r.done) shown.push(r.value.text);
    inbox.end();
    await inbox.settled();
    return { acked, stats: inbox.stats };
  };

  // Session 1: the write of the message's record lands, then the store fails (every read
  // of device.json, so the retries fail too, and messages() ends).
  store.brokenAfterStateWrite = true;
  await session(new ProfileState(store, {}, 10_000, { device: me.device }));
  // The app is opened again once the storage works; the relay delivers the message again.
  store.brokenAfterStateWrite = false;
  store.broken = false;
  const second = await session(await readState(store, 10_000, { device: me.device }));
  t.same(shown, ['once'], 'shown once over both sessions (it was shown in neither)');
  t.equal(second.stats.duplicates + second.stats.received, 1);
});
