// The handset's on-disk profile: one private directory per device.
//
//   device.json    0600  device id, identity and prekey key pairs, own number, route,
//                        pinned OPRF public key (all bytes as lowercase hex)
//   gateways.json  0600  gateway URLs to rotate through
//   state.json     0600  dedup state: recently seen envelope ids, per-peer sequences
//
// Every file is replaced atomically (temp file + fsync + rename), so a crash never
// leaves a half-written key file or a dedup state that forgets what was shown.
import { mkdir, open, chmod, unlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ROUTE_BYTES, DEVICE_BYTES } from '../relay/wire.ts';
import { writeFileAtomic } from './atomic.ts';
import { SeenSet, BoundedCounters } from './dedup.ts';

export const DEVICE_FILE = 'device.json';
export const GATEWAYS_FILE = 'gateways.json';
export const STATE_FILE = 'state.json';
/** Learned number -> route pairs (client/routebook.ts). */
export const ROUTES_FILE = 'routes.json';

/** How many envelope ids (and peers' sequence counters) state.json remembers. */
export const SEEN_CAPACITY = 10_000;

export interface DeviceProfile {
  device: Uint8Array;          // 16 random bytes made at registration
  identitySecret: Uint8Array;  // Ed25519
  identityPublic: Uint8Array;
  prekeySecret: Uint8Array;    // X25519
  prekeyPublic: Uint8Array;
  number: string;              // own E.164 number, shown to recipients inside envelopes
  route: Uint8Array;           // OPRF-derived, checked against the pinned key
  oprfPublicKey: Uint8Array;   // pinned at registration
  registeredAt: string;        // ISO 8601
}

// Exact lengths where the protocol fixes them; 0 = any length (key encodings belong to
// relay/crypto, and the profile must not break if it picks another encoding).
const KEY_FIELDS = {
  device: DEVICE_BYTES,
  identitySecret: 0,
  identityPublic: 0,
  prekeySecret: 0,
  prekeyPublic: 0,
  route: ROUTE_BYTES,
  oprfPublicKey: 0,
} as const;

/** Creates the profile directory (0700) if needed and tightens it if it exists. */
export async function ensureProfileDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing directory.
  await chmod(abs, 0o700);
  return abs;
}

function damaged(file: string): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, `profile file ${file} is damaged`);
}

/**
 * Reads a profile file; undefined when it does not exist. A file others may read or
 * write is refused, as ssh refuses such a key file: its keys (device.json), contacts'
 * numbers (routes.json), message ids (state.json) or gateways may already have been
 * copied, or be swapped, and going on would hide that. Every profile file is written 0600; only
 * a chmod or a copy loosens one. Mode bits mean nothing on Windows: not checked there.
 */
export async function readPrivateFile(path: string, file: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const mode = (await fh.stat()).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new HushwireError(
        ErrorCode.BAD_REQUEST,
        `profile file ${file} is open to other users (mode 0${mode.toString(8)}): its contents may have been copied; ` +
          `if that is not a concern, chmod 600 it (and chmod 700 the profile directory)`,
      );
    }
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

async function readJson(path: string, file: string): Promise<unknown | undefined> {
  const text = await readPrivateFile(path, file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw damaged(file);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hexField(obj: Record<string, unknown>, name: string, len: number): Uint8Array {
  const v = obj[name];
  if (typeof v !== 'string' || v.length === 0 || v.length % 2 !== 0 || !/^[0-9a-f]+$/.test(v)) throw damaged(DEVICE_FILE);
  if (len !== 0 && v.length !== len * 2) throw damaged(DEVICE_FILE);
  return hexToBytes(v);
}

export function notRegistered(): HushwireError {
  return new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: this profile has no device (run hushwire register)');
}

export async function saveDevice(dir: string, p: DeviceProfile): Promise<void> {
  const abs = await ensureProfileDir(dir);
  const out: Record<string, unknown> = { version: 1 };
  for (const name of Object.keys(KEY_FIELDS) as (keyof typeof KEY_FIELDS)[]) {
    const len: number = KEY_FIELDS[name];
    if (p[name].length === 0 || (len !== 0 && p[name].length !== len)) throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} has the wrong length`);
    out[name] = bytesToHex(p[name]);
  }
  out.number = p.number;
  out.registeredAt = p.registeredAt;
  await writeFileAtomic(join(abs, DEVICE_FILE), JSON.stringify(out, null, 2) + '\n', 0o600);
}

/** Loads device.json; HushwireError NOT_REGISTERED ("not registered") when there is none. */
export async function loadDevice(dir: string): Promise<DeviceProfile> {
  const raw = await readJson(join(resolve(dir), DEVICE_FILE), DEVICE_FILE);
  if (raw === undefined) throw notRegistered();
  if (!isRecord(raw) || raw.version !== 1) throw damaged(DEVICE_FILE);
  if (typeof raw.number !== 'string' || !/^\+[1-9][0-9]{1,14}$/.test(raw.number)) throw damaged(DEVICE_FILE);
  return {
    device: hexField(raw, 'device', KEY_FIELDS.device),
    identitySecret: hexField(raw, 'identitySecret', KEY_FIELDS.identitySecret),
    identityPublic: hexField(raw, 'identityPublic', KEY_FIELDS.identityPublic),
    prekeySecret: hexField(raw, 'prekeySecret', KEY_FIELDS.prekeySecret),
    prekeyPublic: hexField(raw, 'prekeyPublic', KEY_FIELDS.prekeyPublic),
    route: hexField(raw, 'route', KEY_FIELDS.route),
    oprfPublicKey: hexField(raw, 'oprfPublicKey', KEY_FIELDS.oprfPublicKey),
    number: raw.number,
    registeredAt: typeof raw.registeredAt === 'string' ? raw.registeredAt : '',
  };
}

export async function hasDevice(dir: string): Promise<boolean> {
  try {
    await stat(join(resolve(dir), DEVICE_FILE));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Removes the device keys, dedup state and learned routes (opt-out); keeps
 *  gateways.json. Idempotent. */
export async function deleteDevice(dir: string): Promise<void> {
  for (const file of [DEVICE_FILE, STATE_FILE, ROUTES_FILE]) {
    try {
      await unlink(join(resolve(dir), file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/** Accepts ws:// and wss:// URLs only; anything else is a user typo worth stopping at. */
export function checkGatewayUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway URL is not a valid URL');
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway URL must start with ws:// or wss://');
  }
  return u.toString();
}

export async function saveGateways(dir: string, urls: string[]): Promise<void> {
  if (urls.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'at least one gateway URL is required');
  const abs = await ensureProfileDir(dir);
  await writeFileAtomic(join(abs, GATEWAYS_FILE), JSON.stringify({ version: 1, gateways: urls.map(checkGatewayUrl) }, null, 2) + '\n', 0o600);
}

export async function loadGateways(dir: string): Promise<string[]> {
  const raw = await readJson(join(resolve(dir), GATEWAYS_FILE), GATEWAYS_FILE);
  if (raw === undefined) throw new HushwireError(ErrorCode.BAD_REQUEST, 'profile has no gateways.json (run hushwire register)');
  if (!isRecord(raw) || !Array.isArray(raw.gateways) || raw.gateways.length === 0) throw damaged(GATEWAYS_FILE);
  return raw.gateways.map((g) => {
    if (typeof g !== 'string') throw damaged(GATEWAYS_FILE);
    return checkGatewayUrl(g);
  });
}

/**
 * Dedup and sequence state. Mutate in memory, then save(); saves coalesce, so a burst
 * of deliveries costs one or two file writes, and every save() promise resolves only
 * once a write that includes the caller's changes is on disk.
 */
export class ProfileState {
  readonly path: string;
  readonly seen: SeenSet;
  /** Next expected seq per sender device (`senderRouteHex:senderDeviceHex`). */
  readonly recvSeq: BoundedCounters;
  /** Next seq to use per recipient device (`routeHex:deviceHex`). */
  readonly sendSeq: BoundedCounters;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(path: string, data: { seen?: string[]; recvSeq?: Record<string, number>; sendSeq?: Record<string, number> } = {}, capacity = SEEN_CAPACITY) {
    this.path = path;
    this.seen = new SeenSet(capacity, data.seen ?? []);
    this.recvSeq = new BoundedCounters(capacity, data.recvSeq ?? {});
    this.sendSeq = new BoundedCounters(capacity, data.sendSeq ?? {});
  }

  toJSON(): object {
    return { version: 1, seen: this.seen.toArray(), recvSeq: this.recvSeq.toObject(), sendSeq: this.sendSeq.toObject() };
  }

  save(): Promise<void> {
    if (this.queued) return this.queued;
    // `.then` runs asynchronously, so `queued` is set before the snapshot is taken;
    // changes made until the snapshot ride along with this write.
    const q = this.tail.then(() => {
      this.queued = null;
      return writeFileAtomic(this.path, JSON.stringify(this.toJSON()) + '\n', 0o600);
    });
    this.queued = q;
    this.tail = q.catch(() => {});
    return q;
  }

  /** Waits for every save() issued so far. */
  async settled(): Promise<void> {
    await this.tail;
  }
}

export async function loadState(dir: string, capacity = SEEN_CAPACITY): Promise<ProfileState> {
  const path = join(resolve(dir), STATE_FILE);
  const raw = await readJson(path, STATE_FILE);
  if (raw === undefined) return new ProfileState(path, {}, capacity);
  if (!isRecord(raw)) throw damaged(STATE_FILE);
  const seen = Array.isArray(raw.seen) ? raw.seen.filter((s): s is string => typeof s === 'string') : [];
  const counters = (v: unknown): Record<string, number> => (isRecord(v) ? (v as Record<string, number>) : {});
  return new ProfileState(path, { seen, recvSeq: counters(raw.recvSeq), sendSeq: counters(raw.sendSeq) }, capacity);
}
