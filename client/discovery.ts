// Blinded discovery, handset side: number -> route through the gateway's VOPRF (the
// gateway sees only blinded elements and the proof is checked against the key pinned
// at registration), then route -> devices with each prekey signature checked against
// the device's identity key. Results are cached briefly: routes longer (they change
// only if the OPRF key does), device lists shortly (devices come and go).
import { bytesToHex } from '@noble/hashes/utils.js';
import { blindNumbers, routeFromOutput } from '../relay/crypto/oprf.ts';
import { finalizeNumberEvaluation } from '../relay/crypto/oprf-split.ts';
import { verify, prekeyInput } from '../relay/crypto/sign.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ROUTE_BYTES, DEVICE_BYTES, type OpProps } from '../relay/wire.ts';
import { TtlCache } from './ttlcache.ts';
import type { OpBuilder } from './connection-core.ts';

export type Requester = (op: OpBuilder, timeoutMs?: number) => Promise<OpProps>;

/** The most devices a lookup answer may list for one number (the key book's and the
 *  safety number's bound, client/keybook.ts and relay/crypto/safety-number.ts); a longer
 *  answer is refused (BAD_REQUEST). */
export const MAX_LISTED_DEVICES = 64;

/** A recipient device whose prekey is signed by its identity key. */
export interface VerifiedDevice {
  device: Uint8Array;
  identityKey: Uint8Array;
  prekey: Uint8Array;
}

/** Where proven routes outlive the process (client/routebook.ts). */
export interface RouteStore {
  get(number: string): Uint8Array | undefined;
  set(number: string, route: Uint8Array): Promise<void>;
}

export interface DiscoveryOptions {
  /** Persistent number -> route memory; without it routes are only cached in memory. */
  routeStore?: RouteStore;
  /** Told of a failed write to routeStore (the route is kept in memory, and asked for
   *  again after a restart), with the write's promise (writes coalesce: the client tells
   *  one failed write once, whoever else waited for it). */
  onStoreError?: (err: unknown, write: Promise<void>) => void;
  /** Told of the number -> route at each routeFor (proven, read from routeStore, or
   *  cached): the key book names a contact it dropped and meets again by it. */
  onRoute?: (number: string, route: Uint8Array) => void;
  /** Told of each device list a lookup returned (verified; not of cached ones): the key
   *  book compares it with the keys accepted before (client/keybook.ts). */
  onDevices?: (route: Uint8Array, devices: VerifiedDevice[]) => void;
  routeTtlMs?: number;
  devicesTtlMs?: number;
  maxEntries?: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function bytes(v: Uint8Array | null | undefined): Uint8Array {
  return v ?? new Uint8Array(0);
}

/** Keeps only devices whose prekey signature verifies; a gateway cannot forge those. */
export function verifyDevices(list: ReadonlyArray<{ device?: Uint8Array | null; identityKey?: Uint8Array | null; prekey?: Uint8Array | null; prekeySignature?: Uint8Array | null }>): VerifiedDevice[] {
  const out: VerifiedDevice[] = [];
  for (const d of list) {
    const device = bytes(d.device);
    const identityKey = bytes(d.identityKey);
    const prekey = bytes(d.prekey);
    const sig = bytes(d.prekeySignature);
    if (device.length !== DEVICE_BYTES || identityKey.length === 0 || prekey.length === 0) continue;
    let ok = false;
    try {
      ok = verify(identityKey, prekeyInput(prekey), sig);
    } catch {
      ok = false;
    }
    if (ok) out.push({ device, identityKey, prekey });
  }
  return out;
}

/**
 * The devices of one number's lookup answer whose signatures verify (verifyDevices),
 * after refusing (BAD_REQUEST) an answer no honest directory gives: more than
 * MAX_LISTED_DEVICES devices (the key book keeps that many per contact and a safety
 * number covers that many keys, so a longer list would be sealed to devices neither
 * compares; checked before the signatures, which cost one verification each), or a
 * device id twice (sealed to twice while the key book and the safety number see one
 * of its keys). Every lookup answer the SDK keeps or seals to goes through it.
 */
export function verifyListed(list: Parameters<typeof verifyDevices>[0]): VerifiedDevice[] {
  if (list.length > MAX_LISTED_DEVICES) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `gateway listed more devices for a number than the SDK accepts (${MAX_LISTED_DEVICES})`);
  }
  const ok = verifyDevices(list);
  if (new Set(ok.map((v) => bytesToHex(v.device))).size !== ok.length) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway listed a device twice');
  }
  return ok;
}

export class Discovery {
  private readonly request: Requester;
  private readonly pinnedKey: Uint8Array;
  private readonly routes: TtlCache<Uint8Array>;
  private readonly routeStore: RouteStore | undefined;
  private readonly onStoreError: (err: unknown, write: Promise<void>) => void;
  private readonly devices: TtlCache<VerifiedDevice[]>;
  private readonly onRoute: (number: string, route: Uint8Array) => void;
  private readonly onDevices: (route: Uint8Array, devices: VerifiedDevice[]) => void;

  constructor(request: Requester, pinnedKey: Uint8Array, options: DiscoveryOptions = {}) {
    this.request = request;
    this.pinnedKey = pinnedKey;
    this.routes = new TtlCache(options.routeTtlMs ?? 10 * 60_000, options.maxEntries ?? 1000);
    this.routeStore = options.routeStore;
    this.onStoreError = options.onStoreError ?? (() => {});
    this.devices = new TtlCache(options.devicesTtlMs ?? 30_000, options.maxEntries ?? 1000);
    this.onRoute = options.onRoute ?? (() => {});
    this.onDevices = options.onDevices ?? (() => {});
  }

  /** The route of a normalized E.164 number. `timeoutMs`: the evaluate's deadline, when
   *  shorter than the requester's own (a send's time left). */
  async routeFor(number: string, timeoutMs?: number): Promise<Uint8Array> {
    const { value } = await this.routes.getOrLoad(number, async () => {
      // Proven before under the same pinned key: no evaluate (each one is charged
      // against this device's discovery budget).
      const known = this.routeStore?.get(number);
      if (known) return known;
      const { blinds, blinded } = blindNumbers([number]);
      const op = await this.request({ evaluate: { blinded } }, timeoutMs);
      if (!op.evaluated) throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed evaluation');
      // One key or a key split between evaluators: either way every proof must hold
      // against the pinned key (AUTH_FAILED otherwise).
      const [output] = finalizeNumberEvaluation([number], blinds, blinded, op.evaluated, this.pinnedKey);
      const route = routeFromOutput(output);
      // A lost write only means asking again next time; the app is told all the same.
      const write = this.routeStore?.set(number, route);
      write?.catch((err: unknown) => this.onStoreError(err, write));
      return route;
    });
    this.onRoute(number, value);
    return value;
  }

  /**
   * The verified devices of a route; `cached` tells whether they came from the cache
   * (a caller that meets NOT_REGISTERED on a cached list asks again with fresh = true).
   * `timeoutMs`: the lookup's deadline, when shorter than the requester's own.
   */
  async devicesFor(route: Uint8Array, fresh = false, timeoutMs?: number): Promise<{ devices: VerifiedDevice[]; cached: boolean }> {
    const key = bytesToHex(route);
    if (fresh) this.devices.delete(key);
    const { value, cached } = await this.devices.getOrLoad(key, async () => {
      let op: OpProps;
      try {
        // fresh: the gateway reads at the directory's leader (a replica may lag behind a
        // device registered a moment ago); an ordinary lookup otherwise.
        op = await this.request({ lookup: fresh ? { route, fresh: true } : { route } }, timeoutMs);
      } catch (e) {
        if (e instanceof HushwireError && e.code === ErrorCode.NOT_REGISTERED) throw notRegistered();
        throw e;
      }
      const d = op.devices;
      if (!d || !d.route || d.route.length !== ROUTE_BYTES || !equalBytes(d.route, route)) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway answered a lookup for another route');
      }
      const list = d.devices ?? [];
      if (list.length === 0) throw notRegistered();
      const ok = verifyListed(list);
      if (ok.length === 0) throw new HushwireError(ErrorCode.AUTH_FAILED, 'no recipient device has a valid prekey signature');
      this.onDevices(route, ok);
      return ok;
    });
    return { devices: value, cached };
  }

  forget(route: Uint8Array): void {
    this.devices.delete(bytesToHex(route));
  }
}

export function notRegistered(): HushwireError {
  // Said of whatever number was looked up (a send's recipient, a safety number's contact):
  // it names none (the caller knows which), and tells never from opted out no better than
  // the directory can.
  return new HushwireError(ErrorCode.NOT_REGISTERED, 'that number is not registered with Hushwire (it never registered, or it opted out)');
}
