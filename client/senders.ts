// Sealed sender makes the sender's identity invisible to the relay, but the number
// inside an envelope is only a claim: anyone can sign "I am +1555..." with their own
// key. The recipient checks the claim against the directory: the number's route (via
// the verifiable OPRF, under the pinned key) must be the claimed sender route, and that
// route must list the claimed device with the same identity key. Passing verdicts are
// cached so a conversation costs one check per sender device, not one per message.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Opened } from '../relay/crypto/seal.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { TtlCache } from './ttlcache.ts';
import type { Discovery, VerifiedDevice } from './discovery.ts';
import type { SenderVerdict } from './inbox.ts';

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function lists(devices: VerifiedDevice[], o: Opened): boolean {
  return devices.some((d) => equalBytes(d.device, o.senderDevice) && equalBytes(d.identityKey, o.senderIdentityKey));
}

export class SenderVerifier {
  private readonly discovery: Discovery;
  private readonly verdicts: TtlCache<SenderVerdict>;

  constructor(discovery: Discovery, ttlMs = 10 * 60_000) {
    this.discovery = discovery;
    this.verdicts = new TtlCache(ttlMs, 1000);
  }

  async verify(o: Opened): Promise<SenderVerdict> {
    const key = [o.senderNumber, bytesToHex(o.senderRoute), bytesToHex(o.senderDevice), bytesToHex(o.senderIdentityKey)].join('|');
    const hit = this.verdicts.get(key);
    if (hit) return hit;
    const v = await this.check(o);
    // Only 'ok' is kept. A transient failure is asked again next time, and so is
    // 'spoofed': the directory read may come from a replica that has not caught up with
    // a device registered a moment ago (a new phone), and keeping the verdict dropped
    // (and acknowledged) every message of that device for the cache's 10 minutes. A
    // forger picks device ids and keys at will, so the cache spared it nothing anyway.
    if (v === 'ok') this.verdicts.set(key, v);
    return v;
  }

  private async check(o: Opened): Promise<SenderVerdict> {
    let route: Uint8Array;
    try {
      route = await this.discovery.routeFor(o.senderNumber);
    } catch (e) {
      return verdictFor(e);
    }
    if (!equalBytes(route, o.senderRoute)) return 'spoofed';
    try {
      let first: VerifiedDevice[] | null = null;
      try {
        first = (await this.discovery.devicesFor(route)).devices;
      } catch (e) {
        // An empty answer from a replica may be a sender who registered a moment ago:
        // asked again below, at the leader.
        if (!(e instanceof HushwireError && e.code === ErrorCode.NOT_REGISTERED)) throw e;
      }
      if (first !== null && lists(first, o)) return 'ok';
      // The sender may have registered this device after our list was read: after we
      // cached it, or after the replica that answered last caught up. One more look,
      // at the directory's leader (the lookup's `fresh`), which has every device
      // registered so far, before the message is called spoofed.
      const fresh = await this.discovery.devicesFor(route, true);
      return lists(fresh.devices, o) ? 'ok' : 'spoofed';
    } catch (e) {
      return verdictFor(e);
    }
  }
}

function verdictFor(e: unknown): SenderVerdict {
  if (e instanceof HushwireError) {
    if (e.code === ErrorCode.NOT_REGISTERED) return 'unknown';
    if (e.code === ErrorCode.TIMEOUT || e.code === ErrorCode.UNAVAILABLE || e.code === ErrorCode.RATE_LIMITED) return 'retry';
  }
  // A bad OPRF proof or a malformed answer: the gateway cannot vouch for this sender.
  return 'unknown';
}
