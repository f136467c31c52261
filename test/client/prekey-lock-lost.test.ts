// A prekey rotation, and the save of the mailbox max age a gateway told (which goes the
// same way), rewrite device.json holding the profile's identity lock (profile.lock),
// built on a read made under it. That lock can be taken over while held: its holder
// stalled past the stale time (5 s: a laptop put to sleep, a long GC pause), and another
// process found it stale. That process may then opt the profile out (deleting
// device.json) or rotate: the first process's write, built on its older read, brought
// the deleted device record back (the profile then looked registered with a device the
// relay may have erased) or undid the other rotation. Each write now checks that the
// lock is still this process's and is refused BAD_REQUEST otherwise, writing nothing.
// A real (embedded) gateway; the stall is a store that stops after a read.
import t from 'tap';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, ErrorCode, isHushwireError, type ProfileRecord } from '../../client/index.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { readDevice, removeDevice, writeDevice } from '../../client/profile-data.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { gate } from '../helpers/stores.ts';
import { tempDir } from '../helpers/temp.ts';
import { within } from '../helpers/poll.ts';

const LOCK = 'profile.lock';

/** A DirectoryStore that, once armed, stops after its n-th read of device.json asked for
 *  while profile.lock is held (the text read, not yet returned): this process stalled
 *  right after that read. Reads asked for without the lock are not counted: the look at
 *  the opt-out marker after each connect (HushwireClient settleOptOut) reads device.json
 *  unlocked at a moment of its own, and counting it stalled the rotation's first read
 *  under the lock instead of the one it builds its write on (the other process's opt-out
 *  then made the rotation's own read fail NOT_REGISTERED). Whether the lock is held is
 *  looked at when the read is asked for: that look's read may end after the rotation
 *  took the lock. */
class StallingStore extends DirectoryStore {
  #armed: { left: number; pass: () => Promise<void> } | null = null;

  stallAfterDeviceRead(n: number): { reached: Promise<void>; open: () => void } {
    const g = gate(10_000);
    this.#armed = { left: n, pass: g.pass };
    return { reached: g.reached, open: g.open };
  }

  override async read(record: ProfileRecord): Promise<string | undefined> {
    const locked = existsSync(join(this.dir, LOCK));
    const text = await super.read(record);
    const a = this.#armed;
    if (record === 'device.json' && a !== null && locked && --a.left === 0) {
      this.#armed = null;
      await a.pass();
    }
    return text;
  }
}

/** What another process does on finding this process's lock stale: removes it, makes its
 *  own (a directory made first keeps the new lock from getting the old one's inode). */
function takeOver(dir: string): void {
  mkdirSync(join(dir, 'spacer'));
  rmdirSync(join(dir, LOCK));
  mkdirSync(join(dir, LOCK));
  rmdirSync(join(dir, 'spacer'));
}

t.test('prekey writes made after the identity lock was taken over are refused', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());

  t.test('rotatePrekey(): another process opted the profile out meanwhile; device.json stays deleted', async (t) => {
    const dir = tempDir('hw-review-lock-');
    await HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: freshNumber() });
    const store = new StallingStore(dir);
    const c = await HushwireClient.open(store, { receive: false, ownDevicesCheckMs: 0, prekeyRotationMs: 0 });
    t.teardown(() => c.close());
    await c.connect();
    // The rotation reads device.json twice under the lock (is it still this device;
    // then the fresh read it builds on): it stalls after the second.
    const stall = store.stallAfterDeviceRead(2);
    const rotation = c.rotatePrekey();
    rotation.catch(() => {});
    await within(stall.reached, 10_000, 'the rotation to read device.json under the lock');
    t.ok(existsSync(join(dir, LOCK)), 'the rotation holds the profile lock');
    takeOver(dir);
    await removeDevice(new DirectoryStore(dir)); // the other process's opt-out of the profile
    stall.open();
    const err = await rotation.then(() => null, (e: unknown) => e);
    t.ok(isHushwireError(err) && err.code === ErrorCode.BAD_REQUEST && /lost the profile's lock/.test(err.message), `refused BAD_REQUEST (${String(err)})`);
    t.notOk(existsSync(join(dir, 'device.json')), 'the deleted device record is not written back');
    t.ok(existsSync(join(dir, LOCK)), "the other process's lock is left alone");
    rmdirSync(join(dir, LOCK));
  });

  t.test('the told mailbox max age: another process rotated meanwhile; its keys stay', async (t) => {
    const dir = tempDir('hw-review-lock-');
    await HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: freshNumber() });
    // A profile with no remembered mailbox max age (written before the field): the
    // connect below has the embedded gateway's 30 days to save.
    const before = await readDevice(new DirectoryStore(dir));
    delete before.mailboxMaxAge;
    await writeDevice(new DirectoryStore(dir), before);
    const store = new StallingStore(dir);
    const c = await HushwireClient.open(store, { receive: false, ownDevicesCheckMs: 0, prekeyRotationMs: 0 });
    t.teardown(() => c.close());
    const stall = store.stallAfterDeviceRead(2);
    await c.connect();
    await within(stall.reached, 10_000, 'the save to read device.json under the lock');
    t.ok(existsSync(join(dir, LOCK)), 'the save holds the profile lock');
    takeOver(dir);
    // The other process's rotation: another current prekey, the old one retired.
    const other = await readDevice(new DirectoryStore(dir));
    const rotated = { ...other, prekeyPublic: new Uint8Array(32).fill(7), prekeySecret: new Uint8Array(32).fill(8), prekeySince: Date.now(), retiredPrekeys: [{ secret: other.prekeySecret, public: other.prekeyPublic, retiredAt: Date.now() }] };
    await writeDevice(new DirectoryStore(dir), rotated);
    stall.open();
    await c.close(); // waits for the save under way
    const after = await readDevice(new DirectoryStore(dir));
    t.same(after.prekeyPublic, rotated.prekeyPublic, "the other process's rotation stays");
    t.equal(after.retiredPrekeys?.length, 1, 'with its retired prekey');
    t.equal(after.mailboxMaxAge, undefined, 'the save built on the older read was not written');
    rmdirSync(join(dir, LOCK));
  });
});
