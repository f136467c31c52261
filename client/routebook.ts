// routes.json: number -> route, learned through the VOPRF and kept on the handset.
//
// A route depends only on the number and the OPRF key, and the key is pinned for the
// life of the profile, so a route once proven never changes. Keeping it spares the
// gateway's discovery budget (each evaluate is charged; a budget spent on re-asking
// would end in RATE_LIMITED for a busy conversation) and gives the gateway nothing new:
// the handset knows its contacts' numbers anyway. The file names the key it belongs to
// and is ignored under any other key. Bounded (oldest-used first out), 0600, atomic.
import { join, resolve } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ROUTE_BYTES } from '../relay/wire.ts';
import { writeFileAtomic } from './atomic.ts';
import { ROUTES_FILE, readPrivateFile } from './profile.ts';

export { ROUTES_FILE } from './profile.ts';
export const ROUTES_CAPACITY = 10_000;

const HEX_ROUTE = new RegExp(`^[0-9a-f]{${ROUTE_BYTES * 2}}$`);

export class RouteBook {
  readonly path: string;
  readonly capacity: number;
  private readonly keyHex: string;
  private readonly routes = new Map<string, string>();
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(path: string, oprfPublicKey: Uint8Array, capacity = ROUTES_CAPACITY, initial: Record<string, string> = {}) {
    this.path = path;
    this.capacity = capacity;
    this.keyHex = bytesToHex(oprfPublicKey);
    for (const [number, route] of Object.entries(initial)) {
      if (/^\+[1-9][0-9]{7,14}$/.test(number) && HEX_ROUTE.test(route)) this.routes.set(number, route);
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

  /** Records a proven route; resolves once on disk (writes coalesce). */
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
      return writeFileAtomic(this.path, JSON.stringify({ version: 1, oprfPublicKey: this.keyHex, routes: Object.fromEntries(this.routes) }) + '\n', 0o600);
    });
    this.queued = q;
    this.tail = q.catch(() => {});
    return q;
  }

  async settled(): Promise<void> {
    await this.tail;
  }
}

/** Loads routes.json for this pinned key; a missing, damaged or other-key file is an empty book. */
export async function loadRouteBook(dir: string, oprfPublicKey: Uint8Array, capacity = ROUTES_CAPACITY): Promise<RouteBook> {
  const path = join(resolve(dir), ROUTES_FILE);
  let initial: Record<string, string> = {};
  // Contacts' numbers: a file open to others is refused like the key file (profile.ts).
  const text = await readPrivateFile(path, ROUTES_FILE);
  try {
    const raw = JSON.parse(text ?? 'null') as { oprfPublicKey?: unknown; routes?: unknown } | null;
    // A cache, not a record: anything off is simply relearned.
    if (raw && raw.oprfPublicKey === bytesToHex(oprfPublicKey) && typeof raw.routes === 'object' && raw.routes !== null) {
      initial = raw.routes as Record<string, string>;
    }
  } catch { /* damaged */ }
  return new RouteBook(path, oprfPublicKey, capacity, initial);
}
