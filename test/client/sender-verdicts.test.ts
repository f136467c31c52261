// The sender check (client/senders.ts) against a directory that answers one lookup from
// a replica that has not caught up yet: a contact registered a new phone a moment ago and
// its first message arrives before the directory read lists the new device. That message
// is dropped as spoofed (the check cannot tell it from a forgery). The verdict must not
// outlive the read that made it: a later message from the same device, once the directory
// lists it, is shown, not dropped (and acknowledged, so lost) for the 10 minutes a cached
// verdict lasted.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { SenderVerifier } from '../../client/senders.ts';
import type { Discovery, VerifiedDevice } from '../../client/discovery.ts';
import type { Opened } from '../../relay/crypto/seal.ts';
import { notRegistered } from '../../client/discovery.ts';

function bytes(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

const NUMBER = '+15550100001';

/** A directory for one number whose device list is what `listed` holds at each lookup;
 *  like Discovery, a list is cached until a fresh one is asked for. */
function directory(route: Uint8Array) {
  const listed: VerifiedDevice[] = [];
  let cache: VerifiedDevice[] | null = null;
  const stats = { lookups: 0 };
  const discovery = {
    async routeFor(number: string): Promise<Uint8Array> {
      if (number !== NUMBER) throw new Error('unexpected number');
      return route;
    },
    async devicesFor(_route: Uint8Array, fresh = false): Promise<{ devices: VerifiedDevice[]; cached: boolean }> {
      if (cache && !fresh) return { devices: cache, cached: true };
      stats.lookups++;
      cache = [...listed];
      return { devices: cache, cached: false };
    },
  } as unknown as Discovery;
  return { listed, discovery, stats };
}

function opened(route: Uint8Array, device: Uint8Array, identityKey: Uint8Array): Opened {
  return { senderRoute: route, senderDevice: device, senderIdentityKey: identityKey, senderNumber: NUMBER, clientTs: 0, contentType: 1, body: new Uint8Array(), seq: 0, id: bytes(16) };
}

t.test('a device the directory did not list yet: spoofed then, ok once it is listed (the verdict is not kept)', async (t) => {
  const route = bytes(32);
  const { listed, discovery, stats } = directory(route);
  const old = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  listed.push(old);
  const verifier = new SenderVerifier(discovery);
  t.equal(await verifier.verify(opened(route, old.device, old.identityKey)), 'ok', 'the old phone');

  // The new phone registered; the replica the gateway read has not caught up.
  const phone = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  t.equal(await verifier.verify(opened(route, phone.device, phone.identityKey)), 'spoofed', 'not listed: spoofed');
  // Caught up: the new device is listed now.
  listed.push(phone);
  t.equal(await verifier.verify(opened(route, phone.device, phone.identityKey)), 'ok', 'its next message is checked again and passes');
  const n = stats.lookups;
  t.equal(await verifier.verify(opened(route, phone.device, phone.identityKey)), 'ok');
  t.equal(stats.lookups, n, 'an ok verdict is still kept: no lookup for the next message');

  // A forgery (a device never listed) stays spoofed at every check.
  const forged = opened(route, bytes(16), bytes(32));
  t.equal(await verifier.verify(forged), 'spoofed');
  t.equal(await verifier.verify(forged), 'spoofed');
});

/** A directory read at a replica that lags (ordinary lookups answer `replica`) and at its
 *  leader (a lookup's `fresh` answers `leader`); null = no entry (NOT_REGISTERED). */
function replicated(route: Uint8Array) {
  const lists = { replica: null as VerifiedDevice[] | null, leader: null as VerifiedDevice[] | null };
  const asked = { ordinary: 0, fresh: 0 };
  const discovery = {
    async routeFor(): Promise<Uint8Array> { return route; },
    async devicesFor(_route: Uint8Array, fresh = false): Promise<{ devices: VerifiedDevice[]; cached: boolean }> {
      if (fresh) asked.fresh++; else asked.ordinary++;
      const l = fresh ? lists.leader : lists.replica;
      if (l === null) throw notRegistered();
      return { devices: [...l], cached: false };
    },
  } as unknown as Discovery;
  return { lists, asked, discovery };
}

t.test('a device the replica does not list yet but the leader does: ok at once, by a second look at the leader', async (t) => {
  const route = bytes(32);
  const { lists, asked, discovery } = replicated(route);
  const old = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  const phone = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  lists.replica = [old];
  lists.leader = [old, phone];
  const verifier = new SenderVerifier(discovery);
  t.equal(await verifier.verify(opened(route, phone.device, phone.identityKey)), 'ok', 'the new phone\'s first message passes');
  t.same(asked, { ordinary: 1, fresh: 1 }, 'one ordinary lookup, then one fresh');
  t.equal(await verifier.verify(opened(route, old.device, old.identityKey)), 'ok');
  t.same(asked, { ordinary: 2, fresh: 1 }, 'a listed device needs no second look');
});

t.test('a sender registered a moment ago (no entry at the replica yet): ok by the leader; truly unregistered: unknown', async (t) => {
  const route = bytes(32);
  const { lists, asked, discovery } = replicated(route);
  const first = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  lists.leader = [first];
  const verifier = new SenderVerifier(discovery);
  t.equal(await verifier.verify(opened(route, first.device, first.identityKey)), 'ok', 'the brand-new sender\'s first message passes');
  t.same(asked, { ordinary: 1, fresh: 1 });
  lists.leader = null;
  const gone = opened(route, bytes(16), bytes(32));
  t.equal(await verifier.verify(gone), 'unknown', 'no entry at the leader either: unknown, as before');
});

t.test('a forgery is spoofed after the second look too', async (t) => {
  const route = bytes(32);
  const { lists, asked, discovery } = replicated(route);
  const real = { device: bytes(16), identityKey: bytes(32), prekey: bytes(32) };
  lists.replica = [real];
  lists.leader = [real];
  const verifier = new SenderVerifier(discovery);
  t.equal(await verifier.verify(opened(route, real.device, bytes(32))), 'spoofed', 'the listed device with another identity key');
  t.equal(await verifier.verify(opened(route, bytes(16), bytes(32))), 'spoofed', 'a device never listed');
  t.same(asked, { ordinary: 2, fresh: 2 });
});
