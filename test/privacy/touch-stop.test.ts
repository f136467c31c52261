// The last_seen pass (Privacy's periodic write of last_seen for long-lived connections)
// goes through the connected sessions one device at a time, a directory read and a
// write each. Privacy.stop() (the gateway closing, its bus next) ends the pass: no
// device after the one under way is read and the edit under way writes nothing (stop()
// does not wait for it). Before, the pass kept going over every session after stop(),
// reading and writing against a closing bus. The bus is hooked: the first device's read
// is held until stop() has been called; the test counts the bus calls, not timings.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { Privacy, type PrivacySession } from '../../relay/privacy/privacy.ts';
import { wire } from '../../relay/wire.ts';
import { CONTRACT_LIMITS } from '../bus/contract.ts';
import { privacyRelay } from '../helpers/privacy-relay.ts';

const tok = (): string => randomBytes(16).toString('hex');

t.test('stop() ends the last_seen pass: nothing read or written after it', async (t) => {
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS });
  await bus.start();
  t.teardown(() => bus.close());
  // Three connected devices, each on its own route, last seen long ago.
  const sessions: PrivacySession[] = [];
  for (let i = 0; i < 3; i++) {
    const tag = tok();
    const device = randomBytes(16);
    const entry = wire.DirectoryEntry.encode({
      devices: [{ device, identityKey: randomBytes(32), prekey: randomBytes(32), prekeySignature: randomBytes(64), registeredAtMs: 1, lastSeenMs: 1 }],
    }).finish();
    t.not(await bus.directoryPut(tag, entry, 0), null);
    sessions.push({ authenticated: true, deviceKey: { tag, devTok: tok(), device }, notify: () => undefined });
  }

  let stopCalled = false;
  let readsAfterStop = 0;
  let writesAfterStop = 0;
  let firstRead!: () => void;
  const firstReadSeen = new Promise<void>((r) => { firstRead = r; });
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let reads = 0;
  const get = bus.directoryGet.bind(bus);
  bus.directoryGet = async (tag, opts) => {
    if (stopCalled) readsAfterStop++;
    if (reads++ === 0) { firstRead(); await held; }
    return get(tag, opts);
  };
  const put = bus.directoryPut.bind(bus);
  bus.directoryPut = async (tag, value, rev) => {
    if (stopCalled) writesAfterStop++;
    return put(tag, value, rev);
  };

  const relay = privacyRelay(bus, sessions);
  // The shortest idle expiry: the pass runs every 250 ms.
  const privacy = new Privacy(relay, { deviceIdleExpiryMs: 2000 });
  const keepAlive = setTimeout(() => undefined, 60_000); // the pass's timer is unref'd
  t.teardown(() => clearTimeout(keepAlive));
  privacy.start();
  await firstReadSeen; // the pass is reading the first device
  stopCalled = true;
  const stopped = privacy.stop();
  release();
  await stopped;
  // Give a pass that kept going every chance to show itself.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  t.equal(readsAfterStop, 0, 'no device read after stop()');
  t.equal(writesAfterStop, 0, 'no write after stop(), not even for the device whose read was under way');
  t.equal(reads, 1, 'the pass read one device only');
});
