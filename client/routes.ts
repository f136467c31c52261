// routes.json: number -> route, learned through the VOPRF and kept on the handset.
//
// A route depends only on the number and the OPRF key, and the key is pinned for the
// life of the profile, so a route once proven never changes. Keeping it spares the
// gateway's discovery budget (each evaluate is charged; a budget spent on re-asking
// would end in RATE_LIMITED for a busy conversation) and gives the gateway nothing new:
// the handset knows its contacts' numbers anyway. The record names the key it belongs
// to and is ignored under any other key. Bounded (oldest-used first out), replaced
// whole through the profile's store (client/store.ts). On Node, client/routebook.ts
// opens it from a profile directory.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ROUTE_BYTES } from '../relay/wire.ts';
import { ROUTES_RECORD, writeForDevice, type DeviceBound, type ProfileStore } from './store.ts';

export const ROUTES_CAPACITY = 10_000;

const HEX_ROUTE = new RegExp(`^[0-9a-f]{${ROUTE_BYTES * 2}}$`);

export class RouteBook {
  readonly store: ProfileStore;
  readonly capacity: number;
  private readonly keyHex: string;
  private readonly routes = new Map<string, string>();
  /** The id (hex) of the device these records belong to: saves check that the profile
   *  still holds it (writeForDevice). null: saves write without the check. */
  readonly deviceHex: string | null;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(store: ProfileStore, oprfPublicKey: Uint8Array, capacity = ROUTES_CAPACITY, initial: Record<string, string> = {}, opts: DeviceBound = {}) {
    this.store = store;
    this.deviceHex = opts.device === undefined ? null : bytesToHex(opts.device);
    this.capacity = capacity;
    this.keyHex = bytesToHex(oprfPublicKey);
    for (const [number, route] of Object.entries(initial)) {
      if (/^\+[1-9][0-9]{7,14}$/.test(number) && typeof route === 'string' && HEX_ROUTE.test(route)) this.routes.set(number, route);
    }
  }

  get size(): number {
    return this.routes.size;
  }

  get(number: string): Uint8Array | undefined {
    const hex = this.routes.get(number);
    if (hex === undefined) return undefined;
    // Touch: a contact in use is never the one evicted.
    this.routes.delete(number);
    this.routes.set(number, hex);
    return hexToBytes(hex);
  }

  /** Records a proven route; resolves once stored (writes coalesce). */
  set(number: string, route: Uint8Array): Promise<void> {
    const hex = bytesToHex(route);
    if (this.routes.get(number) === hex) return Promise.resolve();
    this.routes.delete(number);
    this.routes.set(number, hex);
    while (this.routes.size > this.capacity) {
      const oldest = this.routes.keys().next().value;
      if (oldest === undefined) break;
      this.routes.delete(oldest);
    }
    return this.save();
  }

  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const q = this.tail.then(() => {
      this.queued = null;
      const text = JSON.stringify({ version: 1, oprfPublicKey: this.keyHex, routes: Object.fromEntries(this.routes) }) + '\n';
      return this.deviceHex !== null ? writeForDevice(this.store, ROUTES_RECORD, text, this.deviceHex) : this.store.write(ROUTES_RECORD, text);
    });
    this.queued = q;
    this.tail = q.catch(() => {});
    return q;
  }

  async settled(): Promise<void> {
    await this.tail;
  }
}

/** Reads routes.json for this pinned key; a missing, damaged or other-key record is an
 *  empty book. Errors of the store itself (on Node: a file open to other users) pass. */
export async function readRouteBook(store: ProfileStore, oprfPublicKey: Uint8Array, capacity = ROUTES_CAPACITY, opts: DeviceBound = {}): Promise<RouteBook> {
  let initial: Record<string, string> = {};
  const text = await store.read(ROUTES_RECORD);
  try {
    const raw = JSON.parse(typeof text === 'string' ? text : 'null') as { oprfPublicKey?: unknown; routes?: unknown } | null;
    // A cache, not a record: anything off is simply relearned.
    if (raw && raw.oprfPublicKey === bytesToHex(oprfPublicKey) && typeof raw.routes === 'object' && raw.routes !== null) {
      initial = raw.routes as Record<string, string>;
    }
  } catch { /* damaged */ }
  return new RouteBook(store, oprfPublicKey, capacity, initial, opts);
}
