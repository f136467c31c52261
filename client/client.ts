// HushwireClient: the handset SDK. It ties a profile (keys, dedup state) to a
// connection that authenticates on every (re)connect, a discovery cache, the send path
// and the inbox. Nothing here logs: errors carry codes and safe messages, and keys,
// numbers and routes never leave the object except inside sealed envelopes.
//
// Portable: no Node import here or below (client/portable.ts is the entry that proves
// it). A profile is a ProfileStore (client/store.ts), or on Node a directory path, which
// the Node entry (client/node.ts) teaches the platform to open.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sign, authInput, prekeyInput, unregisterInput } from '../relay/crypto/sign.ts';
import { generateKeyPair } from '../relay/crypto/hpke.ts';
import { parseE164 } from '../relay/number.ts';
import { HushwireError, ErrorCode, CloseCode } from '../relay/errors.ts';
import { Connection, type ConnectionState, type StateChange, type AuthContext } from './connection-core.ts';
import { Discovery, verifyDevices, type VerifiedDevice } from './discovery.ts';
import { sharesMatchKey } from '../relay/crypto/oprf-split.ts';
import { SenderVerifier } from './senders.ts';
import { Inbox, type ReceivedMessage, type InboxStats, type DropReason } from './inbox.ts';
import { deliverToRoute, retryLookup, sealForDevices, SendPacer, SendStop, MAX_TEXT_BYTES, type SendResult, type SenderKeys } from './outgoing.ts';
import { paceLookups, MAX_WAITING_LOOKUPS, MAX_WAITING_LOOKUPS_LIMIT, type PacedRequester } from './lookup-pacing.ts';
import { registerDevice, type RegisterOptions, type RegisterResult } from './register.ts';
import { readDevice, readGateways, readState, removeDevice, checkGatewayUrl, writeDevice, type DeviceProfile, type ProfileState } from './profile-data.ts';
import {
  keepRetired, rotationDue, prekeySinceOf, DEFAULT_PREKEY_ROTATION_MS, DEFAULT_PREKEY_RETENTION_MS, DEFAULT_MAX_RETIRED_PREKEYS,
  noteMailboxAge, mergeMailboxAge, mailboxAgeToSave, prekeyRetentionMs, pendingHoldMs, refusedPending, type ToldMailboxAge,
} from './prekeys.ts';
import { fullJitterDelay } from './backoff.ts';
import { readRouteBook, ROUTES_CAPACITY, type RouteBook } from './routes.ts';
import { SEEN_CAPACITY } from './profile-data.ts';
import { isProfileStore, lockIdentity, type ProfileLock, type ProfileStore } from './store.ts';
import { openDirectory, checkRandom } from './platform.ts';
import type { WebSocketConstructor } from './socket.ts';
import { discoverContacts, MAX_DISCOVER, type ContactStatus } from './contacts.ts';
import { readKeyBook, identityChanged, KEYS_CAPACITY, type KeyBook, type KeyChange, type KeyChangePolicy, type KeyStatus } from './keybook.ts';
import { safetyNumber as computeSafetyNumber, formatSafetyNumber, parseSafetyNumber } from '../relay/crypto/safety-number.ts';
import { guardCallback, StoreErrorReporter, type CallbackErrorHandler, type CallbackName } from './app-callback.ts';
import { ConnectedTimer } from './connected-timer.ts';
import { Resumption, RESUME_SPREAD_MS, MAX_RESUME_SPREAD_MS, type ResumeStats } from './resume.ts';
import { MAX_TIMER_MS } from './timer-delay.ts';
import { afterAuthenticated, explainAuthFailed, isBareAuthFailed, mayChangeAfterAuthenticated, type OptOutMarker } from './opt-out-marker.ts';

/** ClientOptions.ownDevicesCheckMs default: one lookup of the own number an hour. */
export const DEFAULT_OWN_DEVICES_CHECK_MS = 3_600_000;

/** How long close() waits for the profile's writes under way by default (closeTimeoutMs). */
export const CLOSE_TIMEOUT_MS = 5_000;

/** The message onStoreError gets when close() stopped waiting for the profile's writes:
 *  `start`, the closeTimeoutMs waited, `end`. The CLI, whose user never set
 *  closeTimeoutMs nor called close(), says it in its own words (cli/options.ts
 *  storeWarningLine). */
export const CLOSE_LATE_MESSAGE = {
  start: 'close(): the profile\'s writes under way did not finish within ',
  end: ' ms (closeTimeoutMs; a stalled disk?): the client closed without waiting for them, and they go on in the background',
} as const;

/** Retries of a failed automatic prekey rotation: 1 min doubling up to 6 h, full jitter. */
const PREKEY_RETRY_BACKOFF = { baseMs: 60_000, capMs: 6 * 3_600_000 } as const;

export interface ClientOptions {
  /** Overrides the profile's gateways.json. */
  gateways?: string[];
  /** A WHATWG WebSocket constructor. Default: `ws` on Node (hushwire/client), else
   *  globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Deadline of each request (evaluate, lookup, ...), and of the wait for a connection
   *  that discover() and unregister() make while the client reconnects. Default 10 s. */
  requestTimeoutMs?: number;
  /** Deadline of a whole send(), retries and any wait for a reconnect included. Default 30 s. */
  sendTimeoutMs?: number;
  /** How long close() waits for the profile's writes under way (state.json, routes.json,
   *  keys.json, a rotation's device record: each fsynced) before it closes without them.
   *  Past it the connection is closed all the same, close() resolves, and onStoreError is
   *  told (UNAVAILABLE); the writes go on in the background (a stalled disk or network
   *  file system: an fsync cannot be cancelled). Default 5 s (CLOSE_TIMEOUT_MS). */
  closeTimeoutMs?: number;
  /** Attempts the first connect() makes before UNAVAILABLE; default 2 per gateway (at least 3).
   *  Once connected, the client reconnects without limit until close(). */
  connectAttempts?: number;
  /** How often the connection checks its socket: a WebSocket ping on Node's `ws`, a
   *  `ping` op (when nothing arrived since the last check) on the standard WebSocket
   *  API, which cannot ping. Default 20 s. */
  pingIntervalMs?: number;
  /** Nothing at all received for this long and the socket is presumed dead: dropped and
   *  reconnected (backoff, next gateway). Default 50 s. */
  idleTimeoutMs?: number;
  /** false: a send-only client (a process that sends, looks up, rotates its prekey and
   *  never reads). It authenticates send-only (Auth.send_only, docs/PROTOCOL.md): its
   *  connection does not take the device over from the profile's reader (no 4003 kick)
   *  and is handed no deliveries or notices, which stay queued for that reader;
   *  messages() refuses with BAD_REQUEST. A gateway too old to know the field takes it
   *  as a normal connection (the reader is kicked and, with reclaimAfterTakeover, comes
   *  back), and whatever it delivers is ignored here. Default true. */
  receive?: boolean;
  /** Resumption tickets (docs/CLIENT.md, "Resumption"; docs/PROTOCOL.md section 13):
   *  after a signed connect to a gateway that issues them, a receiving client asks for a
   *  ticket and authenticates its later connects with it (an HMAC over the new
   *  challenge) instead of a signature. The ticket and its secret are kept in memory
   *  only. false: every connect is signed with the identity key, and no ticket is asked
   *  for. Default true (a client opened with receive: false never asks either way). */
  resume?: boolean;
  /** How long after a signed connect the ticket request may wait: it is made at a random
   *  moment within this many milliseconds (default RESUME_SPREAD_MS, 30 s), so that the
   *  reconnect storm after a gateway restart (every device signing at once) is not also a
   *  storm of ticket requests, each an X25519 exchange and a directory write (the
   *  ticket's verifier) on the gateway. A connection that drops before simply signs again next time. 0: at once. */
  resumeSpreadMs?: number;
  /** Deliver messages whose sender the directory can no longer vouch for, flagged verified: false. */
  acceptUnverified?: boolean;
  /** Called for each received message dropped for good (never yielded by messages()),
   *  with why: `unverified` (the sender opted out or expired since sending; see
   *  acceptUnverified), `spoofed`, `unreadable`. The reason only: nothing of the message. */
  onDropped?: (reason: DropReason) => void;
  /** Called with each failed write of the profile store (the store's error, as it threw
   *  it). While recording a received message (state.json): that message is neither shown
   *  nor acknowledged, and the write is tried again after a pause; the third failed write
   *  in a row ends messages() with UNAVAILABLE (its `cause` is the store's error), and the
   *  relay keeps what was not acknowledged. The route book (routes.json, after a
   *  discovery) and the send sequence numbers (state.json, after a send) are written on a
   *  best-effort basis: a failure there is only told (a lost route is asked again, a lost
   *  sequence number weakens an ordering hint); so is keys.json's. Once per failed write
   *  (saves coalesce: a message's record and a send's sequence number asked for together
   *  share one write, told once). Also called once by
   *  open() with a BAD_REQUEST HushwireError when keys.json was damaged, whole or in
   *  part: those contacts' keys start again from first use and their verifications are
   *  lost (docs/CLIENT.md, "Contact keys and safety numbers"). */
  onStoreError?: (err: unknown) => void;
  /** When another connection of this device takes over (4003), come back after a pause
   *  instead of stopping: a long-running reader lets a `send` on the same profile finish. */
  reclaimAfterTakeover?: boolean;
  onState?: (change: StateChange) => void;
  /** The gateway's notices about this account. kind "new_device": another device
   *  registered this number (if that was not you, the number may have been taken over).
   *  A notice for an offline device is delivered on its next connect. */
  onNotice?: (notice: Notice) => void;
  /** Rotate the device's prekey automatically once it is this old, after a connect
   *  (and on a timer while connected): docs/CLIENT.md, "Prekey rotation". 0: never
   *  automatically (rotatePrekey() still works). Default 7 days. */
  prekeyRotationMs?: number;
  /** How long a replaced prekey's secret is kept to open mail sealed to it before;
   *  then it is deleted from the profile. Default 33 days (the relay's default mailbox
   *  max age, 30 days, plus margin). Kept longer when the gateways tell a longer mailbox
   *  max age (that plus 3 days, at most MAX_TOLD_PREKEY_RETENTION_MS, 400 days):
   *  docs/CLIENT.md, "Prekey rotation". */
  prekeyRetentionMs?: number;
  /** Most replaced prekey secrets kept; beyond it the oldest are deleted. Default 16. */
  maxRetiredPrekeys?: number;
  /** Most lookups (evaluate and lookup ops: a send's, discover(), safety numbers, sender
   *  checks) this client holds back at once, waiting for their paced turn or their retry
   *  while the gateway refuses its lookups (docs/CLIENT.md, "Retries and duplicates").
   *  One more fails at once, unsent, RATE_LIMITED "lookup not sent: N lookups of this
   *  client are already waiting for their turn; ...". An integer from 1 to
   *  MAX_WAITING_LOOKUPS_LIMIT (10,000); default MAX_WAITING_LOOKUPS (256). */
  maxWaitingLookups?: number;
  /** The clock (ms since the epoch) prekey rotation and retention go by. Default Date.now. */
  clock?: () => number;
  /** Told when a contact's keys change (a device added, a device's identity key
   *  replaced, a device gone), or this user's own number lists another device:
   *  docs/CLIENT.md, "Contact keys and safety numbers". */
  onKeyChange?: (change: KeyChange) => void;
  /** How often the client looks its own number up, to tell (onKeyChange, own: true) a
   *  device listed under it after the baseline (the devices listed at registration,
   *  kept in keys.json by register(); without one, those of the first look of a
   *  receiving client; a send-only client's look takes none: docs/CLIENT.md): after a connect once this
   *  long has passed since the last look, and on a timer while connected. Independent of
   *  the gateway's new_device notice, which a dishonest directory would not send.
   *  Default 1 hour; 0: never (a lookup that finds it still looks, e.g. safetyNumber). */
  ownDevicesCheckMs?: number;
  /** Told what one of the callbacks above (onState, onNotice, onDropped, onStoreError,
   *  onKeyChange) threw, or what the promise an async one returned rejected with, and
   *  which callback it was. Either way the client goes on as if the callback had
   *  returned; without this option the error is dropped. Never an unhandled rejection:
   *  nobody awaits a callback's promise, and an unhandled rejection ends a Node process
   *  by default. What this handler throws or rejects with is dropped. */
  onCallbackError?: CallbackErrorHandler;
  /** Which contacts' key changes hold sends (IDENTITY_CHANGED) until acceptContactKeys()
   *  or verifyContact(): `verified` (default: contacts the user verified), `all`, `none`. */
  keyChangePolicy?: KeyChangePolicy;
}

/** A contact's safety number (docs/CLIENT.md, "Contact keys and safety numbers"). */
export interface SafetyNumber {
  /** 60 digits; the same on both handsets while both see the same keys. */
  digits: string;
  /** The digits in 12 groups of 5, for display. */
  groups: string[];
  /** The contact's key status now. */
  status: KeyStatus;
  /** Devices the contact's number lists (each one's identity key is in the number). */
  devices: number;
  /** Devices this user's own number lists (the same holds on the contact's side). */
  ownDevices: number;
}

/** A server notice (docs/PROTOCOL.md, `notice`). */
export interface Notice {
  kind: string;
  /** When it happened (gateway clock, ms since the epoch). */
  atMs: number;
}

/** A profile: a ProfileStore, or (Node entry only) a directory path. */
export type Profile = string | ProfileStore;

function badOption(message: string): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, message);
}

/** A duration option: a positive number of ms; `timer`: one a timer waits (at most
 *  MAX_TIMER_MS, 24.8 days: setTimeout fires a longer one after 1 ms, so a
 *  requestTimeoutMs of 30 days would time every request out at once), not a period
 *  compared with dates (prekeyRetentionMs). */
function checkMs(options: Record<string, unknown>, name: string, timer = true): void {
  const v = options[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw badOption(`option ${name} must be a positive number of milliseconds`);
  }
  if (timer && v > MAX_TIMER_MS) {
    throw badOption(`option ${name} must be at most ${MAX_TIMER_MS} ms (24.8 days, the longest a timer waits)`);
  }
}

/** The gateways option of open() and register(): a non-empty array of ws(s):// URLs. */
export function checkGatewayList(v: unknown): string[] {
  if (!Array.isArray(v)) throw badOption('gateways must be an array of ws:// or wss:// URLs');
  if (v.length === 0) throw badOption('gateways must list at least one ws:// or wss:// URL');
  return v.map((u: unknown) => checkGatewayUrl(u as string));
}

/** The id of a message given to ack() or giveBack(): BAD_REQUEST for anything else. */
function messageId(message: unknown, call: string): string {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
  if (typeof id !== 'string') throw new HushwireError(ErrorCode.BAD_REQUEST, `${call}(message): message must be one that messages() handed over (an object with its id)`);
  return id;
}

/** The application callbacks of ClientOptions, each called through guardCallback. */
const CALLBACKS: readonly CallbackName[] = ['onState', 'onNotice', 'onDropped', 'onStoreError', 'onKeyChange'];

/** `options` with each application callback made safe to call from inside the client:
 *  what it throws and what its promise rejects with go to onCallbackError. The result
 *  inherits from the application's object (a copy of its own properties would lose the
 *  settings it inherits), and each callback, onCallbackError too, is called as a method
 *  of that object (`this` is it), as the application wrote it. */
function guardCallbacks(options: ClientOptions): ClientOptions {
  const guarded = Object.create(options) as ClientOptions;
  const onError = options.onCallbackError;
  const report: CallbackErrorHandler | undefined = onError && ((err, name) => onError.call(options, err, name));
  for (const name of CALLBACKS) {
    const fn = options[name] as ((arg: unknown) => unknown) | undefined;
    if (fn !== undefined) (guarded as Record<string, unknown>)[name] = guardCallback(name, (arg: unknown) => fn.call(options, arg), report);
  }
  return guarded;
}

/** BAD_REQUEST, naming the option, for an options argument open() cannot use. */
/** Whether `p` settled before `deadline` (ms since the epoch): true when it did, false
 *  past the deadline (`p` goes on); a rejection before the deadline is thrown. */
async function untilDeadline(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())); });
  p.catch(() => {}); // past the deadline nobody awaits it
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function checkClientOptions(options: unknown): ClientOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badOption('options must be an object (or left out)');
  }
  const o = options as Record<string, unknown>;
  for (const name of ['requestTimeoutMs', 'sendTimeoutMs', 'closeTimeoutMs', 'pingIntervalMs', 'idleTimeoutMs']) checkMs(o, name);
  if (o.connectAttempts !== undefined && (typeof o.connectAttempts !== 'number' || !Number.isInteger(o.connectAttempts) || o.connectAttempts < 1)) {
    throw badOption('option connectAttempts must be a positive integer');
  }
  if (typeof o.idleTimeoutMs === 'number' && typeof o.pingIntervalMs === 'number' && o.idleTimeoutMs < o.pingIntervalMs) {
    throw badOption('option idleTimeoutMs must not be below pingIntervalMs (keep it over twice the interval)');
  }
  if (o.keyChangePolicy !== undefined && !['verified', 'all', 'none'].includes(o.keyChangePolicy as string)) {
    throw badOption("option keyChangePolicy must be 'verified', 'all' or 'none'");
  }
  for (const name of [...CALLBACKS, 'onCallbackError']) {
    if (o[name] !== undefined && typeof o[name] !== 'function') throw badOption(`option ${name} must be a function`);
  }
  if (o.gateways !== undefined) checkGatewayList(o.gateways);
  checkMs(o, 'prekeyRetentionMs', false);
  if (o.prekeyRotationMs !== undefined && (typeof o.prekeyRotationMs !== 'number' || !Number.isFinite(o.prekeyRotationMs) || o.prekeyRotationMs < 0)) {
    throw badOption('option prekeyRotationMs must be a number of milliseconds, 0 or more (0: no automatic rotation)');
  }
  if (o.ownDevicesCheckMs !== undefined && (typeof o.ownDevicesCheckMs !== 'number' || !Number.isFinite(o.ownDevicesCheckMs) || o.ownDevicesCheckMs < 0)) {
    throw badOption('option ownDevicesCheckMs must be a number of milliseconds, 0 or more (0: no automatic check)');
  }
  if (o.maxRetiredPrekeys !== undefined && (typeof o.maxRetiredPrekeys !== 'number' || !Number.isInteger(o.maxRetiredPrekeys) || o.maxRetiredPrekeys < 0)) {
    throw badOption('option maxRetiredPrekeys must be an integer, 0 or more');
  }
  if (o.maxWaitingLookups !== undefined && (typeof o.maxWaitingLookups !== 'number' || !Number.isInteger(o.maxWaitingLookups) || o.maxWaitingLookups < 1 || o.maxWaitingLookups > MAX_WAITING_LOOKUPS_LIMIT)) {
    throw badOption(`option maxWaitingLookups must be an integer from 1 to ${MAX_WAITING_LOOKUPS_LIMIT}`);
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw badOption('option clock must be a function');
  if (o.resume !== undefined && typeof o.resume !== 'boolean') throw badOption('option resume must be true or false');
  if (o.resumeSpreadMs !== undefined && (typeof o.resumeSpreadMs !== 'number' || !Number.isFinite(o.resumeSpreadMs) || o.resumeSpreadMs < 0 || o.resumeSpreadMs > MAX_RESUME_SPREAD_MS)) {
    throw badOption(`option resumeSpreadMs must be a number of milliseconds from 0 to ${MAX_RESUME_SPREAD_MS}`);
  }
  return o as ClientOptions;
}

/** The numbers argument of discover(): any iterable of strings (an array, a Set, ...). */
function numberList(numbers: unknown): string[] {
  if (typeof numbers === 'string' || numbers === null || typeof numbers !== 'object' || typeof (numbers as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw badOption('discover takes an array (or another iterable) of phone numbers, not a single string or null');
  }
  const out: string[] = [];
  for (const n of numbers as Iterable<unknown>) {
    if (typeof n !== 'string') throw new HushwireError(ErrorCode.BAD_NUMBER, 'every number must be a string');
    out.push(n);
    if (out.length > MAX_DISCOVER) break; // discoverContacts refuses it, without reading an endless iterable
  }
  return out;
}

/** The store behind a profile argument (BAD_REQUEST for anything else). */
export function profileStore(profile: Profile): ProfileStore {
  if (isProfileStore(profile)) return profile;
  if (typeof profile === 'string' && profile.length > 0) return openDirectory(profile).store;
  throw new HushwireError(ErrorCode.BAD_REQUEST, 'a profile is a directory path (Node) or a ProfileStore');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Each identity key once: a device listed twice under other ids with the same key (a
 *  replayed prekey signature, harmless: only the key's owner opens what is sealed to it)
 *  must not make the safety number fail. */
function distinctKeys(devices: readonly VerifiedDevice[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const d of devices) seen.set(bytesToHex(d.identityKey), d.identityKey);
  return [...seen.values()];
}

export class HushwireClient {
  /** Building blocks for tools that drive the protocol directly (the bench). */
  static readonly lowLevel = Object.freeze({
    Connection,
    Discovery,
    verifyDevices,
    sealForDevices,
    deliverToRoute,
    loadDevice: (profile: Profile) => readDevice(profileStore(profile)),
    fullJitterDelay,
  });

  /** The profile directory, when the profile is one (Node). */
  readonly profileDir: string | undefined;
  private readonly store: ProfileStore;
  private readonly profile: DeviceProfile;
  private readonly state: ProfileState;
  private readonly routes: RouteBook;
  /** Contacts' keys as accepted, and verified contacts (client/keybook.ts). */
  private readonly keys: KeyBook;
  /** Compares a device list with the key book and tells a change (onKeyChange). */
  private readonly observeKeys: (route: Uint8Array, devices: VerifiedDevice[]) => void;
  private readonly conn: Connection;
  private readonly discovery: Discovery;
  private readonly inbox: Inbox;
  private readonly sendTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  /** ClientOptions.receive. */
  private readonly receive: boolean;
  /** Spaces this client's sends while the gateway rate-limits them or is out of room
   *  (client/outgoing.ts pacesStream). */
  private readonly pacer = new SendPacer();
  /** The request of every lookup op (evaluate, lookup): spaced while the gateway refuses
   *  them whole, by the sends' rules with pacers of their own (client/lookup-pacing.ts). */
  private readonly lookups: PacedRequester;
  /** The lookups' pacers, one for evaluate ops and one for lookup ops. */
  private readonly lookupPacers = { evaluate: new SendPacer(), lookup: new SendPacer() };
  /** Ends the sends' backoff waits, and the lookups' waits for their turn, at close(). */
  private readonly sendStop = new SendStop();
  /** Tells ClientOptions.onStoreError (guarded by open(): an app callback that throws
   *  changes nothing) of each failed write once, however many callers shared it: the
   *  inbox recording a message and a send's sequence number can share one state.json
   *  write (saves coalesce). */
  private readonly storeErrors: StoreErrorReporter;
  private unregistering = false;
  /** unregister() is under way (from its call until it fails or the device is gone): no
   *  prekey rotation starts, and the one under way is waited for before the profile's
   *  identity lock is taken (a rotation queued behind that lock would hold close() until
   *  the lock wait ran out, and a set_prekey would race the unregister op). */
  private optingOut = false;
  private unregistered = false;
  /** The relay answered the unregister op: the device is gone there. */
  private relayErased = false;
  private closing: Promise<void> | null = null;
  /** Prekey rotation (docs/CLIENT.md, "Prekey rotation"). */
  private readonly prekeyRotationMs: number;
  private readonly prekeyRetentionMs: number;
  private readonly maxRetiredPrekeys: number;
  /** The mailboxMaxAge device.json holds, as far as this client knows (this.profile's
   *  may be newer: told by a gateway, saved by the next maintainPrekeys). */
  private savedMailboxAge: ToldMailboxAge | undefined;
  private readonly now: () => number;
  /** The rotation under way (rotatePrekey() or the automatic one), or null. */
  private rotating: Promise<void> | null = null;
  /** When the latest authentication began (wall clock, ms): an opt-out marker that ended
   *  before it is cleared once it succeeds (client/opt-out-marker.ts). */
  private authBeganAt = 0;
  /** The look at the profile's opt-out marker after a connect (settleOptOut), under way. */
  private optOutSettling: Promise<void> | null = null;
  /** The next automatic check (a due rotation, a retry after a failure). */
  private readonly prekeyTimer: ConnectedTimer;
  /** The own-number check (ClientOptions.ownDevicesCheckMs): its interval, when it last
   *  ran (0: not yet), the timer for the next one, and whether one is in flight. */
  private readonly ownDevicesCheckMs: number;
  private ownCheckedAt = 0;
  private readonly ownTimer: ConnectedTimer;
  private ownChecking = false;
  private prekeyFailures = 0;
  /** Resumption tickets (client/resume.ts): held in memory only. */
  private readonly resumption: Resumption;
  /** The ticket request to make once the connection that just authenticated counts as
   *  connected (set by authenticate, taken by the connected state change). */
  private ticketAsk: AuthContext | null = null;
  /** The spread ticket request's timer (resumeSpreadMs), cleared with the connection. */
  private ticketTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly resumeSpreadMs: number;

  /** Registers a new device for `number` in `profileDir` or `store` (opt-in). */
  static register(opts: RegisterOptions): Promise<RegisterResult> {
    return registerDevice(opts);
  }

  /** Opens a registered profile (a ProfileStore, or on Node a directory); HushwireError
   *  NOT_REGISTERED when it has no device. */
  static async open(profileOrDir: Profile, opts?: ClientOptions): Promise<HushwireClient> {
    const options = guardCallbacks(checkClientOptions(opts));
    checkRandom();
    const store = profileStore(profileOrDir);
    const profile = await readDevice(store);
    const gateways = options.gateways !== undefined ? checkGatewayList(options.gateways) : await readGateways(store);
    // Both are this device's: a save after another process opted the profile out, or
    // registered another device in it, fails NOT_REGISTERED and keeps nothing
    // (writeForDevice), so no contact's number outlives the opt-out and the other
    // device's records are not overwritten.
    const state = await readState(store, SEEN_CAPACITY, { device: profile.device });
    const routes = await readRouteBook(store, profile.oprfPublicKey, ROUTES_CAPACITY, { device: profile.device });
    const keys = await readKeyBook(store, profile.oprfPublicKey, KEYS_CAPACITY, {
      // Told as a store error: the record is rewritten at the next save, and a lost
      // verification would otherwise go unseen.
      onDamaged: (problem) => options.onStoreError?.(new HushwireError(ErrorCode.BAD_REQUEST, problem)),
      device: profile.device,
      ownRoute: profile.route,
      // A send-only client gets no new_device notices: its first look at the own number
      // fixes no baseline (KeyBook ownBaselineDeferred), the first receiving client does.
      ownBaselineDeferred: options.receive === false,
      ...(options.keyChangePolicy !== undefined ? { policy: options.keyChangePolicy } : {}),
    });
    return new HushwireClient(typeof profileOrDir === 'string' ? profileOrDir : undefined, store, profile, gateways, state, routes, keys, options);
  }

  private constructor(profileDir: string | undefined, store: ProfileStore, profile: DeviceProfile, gateways: string[], state: ProfileState, routes: RouteBook, keys: KeyBook, options: ClientOptions) {
    this.profileDir = profileDir;
    this.store = store;
    this.profile = profile;
    this.state = state;
    this.routes = routes;
    this.keys = keys;
    keys.noteNumber(profile.route, profile.number);
    const storeErrors = new StoreErrorReporter(options.onStoreError);
    this.storeErrors = storeErrors;
    this.prekeyRotationMs = options.prekeyRotationMs ?? DEFAULT_PREKEY_ROTATION_MS;
    this.prekeyRetentionMs = options.prekeyRetentionMs ?? DEFAULT_PREKEY_RETENTION_MS;
    this.maxRetiredPrekeys = options.maxRetiredPrekeys ?? DEFAULT_MAX_RETIRED_PREKEYS;
    this.savedMailboxAge = profile.mailboxMaxAge;
    this.ownDevicesCheckMs = options.ownDevicesCheckMs ?? DEFAULT_OWN_DEVICES_CHECK_MS;
    // While reconnecting a timer's run waits: the next connect runs both checks itself.
    const connected = () => this.conn.state === 'connected';
    const allowed = () => !(this.closing || this.unregistering || this.optingOut);
    this.prekeyTimer = new ConnectedTimer(() => this.maintainPrekeys(), connected, allowed);
    this.ownTimer = new ConnectedTimer(() => this.checkOwnDevices(), connected, allowed);
    const clock = options.clock;
    this.now = clock ? () => clock() : () => Date.now();
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
    const receive = options.receive ?? true;
    this.receive = receive;
    // Send-only clients (hushwire send, discover, ...) are short-lived: a ticket would
    // cost the gateway a request and never be used.
    this.resumption = new Resumption((options.resume ?? true) && receive);
    this.resumeSpreadMs = options.resumeSpreadMs ?? RESUME_SPREAD_MS;
    const userOnState = options.onState;
    this.conn = new Connection({
      urls: gateways,
      ...(options.WebSocket !== undefined ? { WebSocket: options.WebSocket } : {}),
      requestTimeoutMs: this.requestTimeoutMs,
      connectAttempts: options.connectAttempts ?? Math.max(3, gateways.length * 2),
      ...(options.pingIntervalMs !== undefined ? { pingIntervalMs: options.pingIntervalMs } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.reclaimAfterTakeover ? { terminalCloseCodes: [CloseCode.AUTH_FAILED, CloseCode.UNREGISTERED] } : {}),
      authenticate: (ctx) => this.authenticate(ctx),
      onOp: (op) => {
        if (receive && op.deliver?.envelopes) this.inbox.deliver(op.deliver.envelopes);
        // Before the own number's first look, a new_device notice means a device came
        // after this one: that look tells the devices it lists instead of taking them as
        // the baseline (KeyBook.noteOwnNewDevice).
        if (op.notice && String(op.notice.kind ?? '') === 'new_device') keys.noteOwnNewDevice();
        if (op.notice && options.onNotice) options.onNotice({ kind: String(op.notice.kind ?? ''), atMs: Number(op.notice.atMs ?? 0) });
      },
      onState: (change) => {
        if (change.to === 'closed') {
          // After our own unregister, the gateway's 4006 close is the expected ending.
          this.inbox.end(this.unregistering ? null : change.error ?? null);
          // Closed for good (close(), AUTH_FAILED, an opt-out elsewhere, a takeover):
          // there is no later connect to resume, and no ticket request to make.
          this.resumption.disable();
          this.ticketAsk = null;
          if (this.ticketTimer !== null) clearTimeout(this.ticketTimer);
          this.ticketTimer = null;
        }
        if (change.to === 'connected') {
          this.settleOptOut();
          this.askForTicket();
          this.maintainPrekeys();
          this.checkOwnDevices();
        }
        userOnState?.(change);
      },
    });
    // Lookups (evaluate, lookup) wait for their turn while the gateway refuses them whole,
    // and ask again in it (client/lookup-pacing.ts); every other request goes straight out.
    const request = paceLookups({
      request: (op, timeoutMs) => this.conn.request(op, timeoutMs),
      requestTimeoutMs: this.requestTimeoutMs,
      pacers: this.lookupPacers,
      maxWaiting: options.maxWaitingLookups ?? MAX_WAITING_LOOKUPS,
      stop: this.sendStop,
    });
    this.lookups = request;
    const onKeyChange = options.onKeyChange;
    this.observeKeys = (route, devices) => {
      const { change, save } = keys.observe(route, devices, null, this.now());
      storeErrors.watch(save);
      if (change) onKeyChange?.(change); // guarded by open(): never throws
    };
    this.discovery = new Discovery(request, profile.oprfPublicKey, {
      routeStore: routes,
      onStoreError: (err, write) => storeErrors.report(write, err),
      onRoute: (number, route) => keys.noteNumber(route, number),
      onDevices: this.observeKeys,
    });
    const verifier = new SenderVerifier(this.discovery);
    this.inbox = new Inbox({
      me: { route: profile.route, device: profile.device, prekeySecret: profile.prekeySecret },
      prekeySecrets: () => this.prekeySecrets(),
      reloadPrekeys: () => this.reloadPrekeys(),
      state,
      ack: (ids) => this.conn.ack(ids),
      verifySender: (opened) => verifier.verify(opened),
      senderKeys: (opened) => keys.senderStatus(opened.senderRoute, opened.senderDevice, opened.senderIdentityKey),
      acceptUnverified: options.acceptUnverified ?? false,
      ...(options.onDropped ? { onDropped: options.onDropped } : {}),
      onStoreError: (err, write) => storeErrors.report(write, err),
    });
  }

  /** Own number (E.164). */
  get number(): string {
    return this.profile.number;
  }

  /** Own device id (hex). */
  get deviceId(): string {
    return bytesToHex(this.profile.device);
  }

  get connectionState(): ConnectionState {
    return this.conn.state;
  }

  get stats(): Readonly<InboxStats> {
    return this.inbox.stats;
  }

  /** Resumption's counters (docs/CLIENT.md, "Resumption"): connects resumed with a
   *  ticket, tickets refused, ticket requests made, kept and failed (with the last
   *  failure's code), whether a ticket is held and how many (one per resume key a ticket
   *  was issued under). Never a ticket or its secret. */
  get resumeStats(): ResumeStats {
    return this.resumption.stats;
  }

  private async authenticate(ctx: AuthContext): Promise<void> {
    this.authBeganAt = Date.now();
    // A gateway with another OPRF key lives in another routing universe (or is lying):
    // nothing it says about routes could be checked, so refuse it outright.
    if (!equalBytes(ctx.challenge.oprfPublicKey, this.profile.oprfPublicKey)) {
      throw new HushwireError(
        ErrorCode.AUTH_FAILED,
        "gateway's OPRF key does not match the pinned key: it is another deployment, or a dev gateway that restarted " +
          'with a new key (this profile cannot be used with it: forget it locally, with the CLI hushwire unregister --profile DIR ' +
          '--forget-locally, then register again)',
      );
    }
    // A split key's shares must add up to the pinned key (each answer is checked again).
    const shares = ctx.challenge.oprfShareKeys;
    if (shares.length > 0 && !sharesMatchKey(shares, this.profile.oprfPublicKey)) {
      throw new HushwireError(ErrorCode.AUTH_FAILED, 'OPRF share keys do not add up to the pinned key');
    }
    const { route, device, identitySecret } = this.profile;
    const { nonce, resumeKey } = ctx.challenge;
    this.ticketAsk = null;
    if (this.ticketTimer !== null) clearTimeout(this.ticketTimer);
    this.ticketTimer = null;
    // receive: false authenticates send-only (Auth.send_only, not signed: see the
    // proto): this connection takes nothing from the device's receiving one (no kick)
    // and is handed nothing. A gateway older than the field takes it as a normal one.
    const sendOnly = this.receive ? {} : { sendOnly: true };
    // A ticket from an earlier connection, only where the challenge announced a resume
    // key (a gateway older than tickets would find no signature and close 4002), and
    // only the one issued under that very key (client/resume.ts presentable): the
    // gateways showing it seal with the same ticket key. None held for it: sign.
    const presented = this.resumption.presentable(resumeKey, nonce, route, device);
    let resumed = false;
    if (presented !== null) {
      try {
        // retryOnAuthFailed: an AUTH_FAILED to a resume (or a 4002 close before its
        // answer) does not end the connection as a signed auth's does (below).
        await ctx.request({ auth: { route, device, ticket: presented.ticket, proof: presented.proof, ...sendOnly } }, undefined, { retryOnAuthFailed: true });
        resumed = true;
        this.resumption.noteResumed();
      } catch (e) {
        // AUTH_FAILED to a resume: the gateway took it as malformed or as a second resume
        // on the connection, a disagreement between it and this SDK over the rules, not a
        // refusal of the device (its signature was not even seen). Every ticket is
        // forgotten and this resume key gets no ticket again (Resumption.noteAuthFailed);
        // the connection, told by retryOnAuthFailed, reconnects with backoff instead of
        // ending, and that connect signs. A signed auth refused there is final as ever.
        if (e instanceof HushwireError && e.code === ErrorCode.AUTH_FAILED) {
          this.resumption.noteAuthFailed(resumeKey);
          throw e;
        }
        // A ticket this gateway cannot open after all (the device's record changed, the
        // key rotated out of the opening set, expired by the gateway's clock): it is
        // forgotten, and the connection, still in its challenge state, takes a signed
        // auth over the same nonce. Anything else ends this attempt as a signed auth's
        // failure would (a lost connection retries).
        if (!(e instanceof HushwireError && e.code === ErrorCode.RESUME_REFUSED)) throw e;
        this.resumption.noteRefused(resumeKey);
      }
    }
    if (!resumed) {
      const signature = sign(identitySecret, authInput(nonce, route, device));
      await ctx.request({ auth: { route, device, signature, ...sendOnly } });
    }
    // A new ticket after a signed auth, or a renewal of one near its end: asked once the
    // connection counts as connected, never delaying it (askForTicket).
    if (this.resumption.wantsTicket(resumeKey, resumed)) this.ticketAsk = ctx;
    // How long the mailbox keeps mail (client/prekeys.ts noteMailboxAge: the largest told
    // stays in force a while); saved to device.json by maintainPrekeys, which runs next.
    const age = noteMailboxAge(this.profile.mailboxMaxAge, ctx.challenge.mailboxMaxAgeS, this.now());
    if (age !== undefined) this.profile.mailboxMaxAge = age;
  }

  /**
   * Asks the gateway of the connection that just became connected for a resumption
   * ticket, when authenticate() found one due. On that very socket (ctx.request): the
   * secret is derived with the resume key its challenge showed, and the ticket is kept
   * under that key (client/resume.ts). Never in the way of the connect:
   * not awaited, and a failure (an error answer, the socket lost, a timeout) is only
   * counted (resumeStats); the next signed connect asks again.
   */
  private askForTicket(): void {
    const ctx = this.ticketAsk;
    this.ticketAsk = null;
    if (this.ticketTimer !== null) clearTimeout(this.ticketTimer);
    this.ticketTimer = null;
    if (ctx === null) return;
    // At a random moment within resumeSpreadMs (full jitter), not at once: after a
    // gateway restart every device connects and signs at about the same time, and their
    // ticket requests would add an X25519 exchange and a directory write each to that
    // storm. Checked again when it fires: the connection must still be the same one.
    const delay = Math.floor(Math.random() * this.resumeSpreadMs);
    if (delay <= 0) return this.requestTicket(ctx);
    this.ticketTimer = setTimeout(() => {
      this.ticketTimer = null;
      this.requestTicket(ctx);
    }, delay);
    (this.ticketTimer as { unref?: () => void }).unref?.();
  }

  private requestTicket(ctx: AuthContext): void {
    if (ctx.challenge !== this.conn.challenge || this.conn.state !== 'connected') return;
    if (this.closing || this.optingOut || this.unregistering || this.unregistered) return;
    const ask = this.resumption.begin(ctx.challenge.resumeKey, this.profile.device);
    if (ask === null) return;
    ctx.request({ ticketRequest: { publicKey: ask.publicKey } }, this.requestTimeoutMs).then(
      (op) => {
        if (op.ticket) ask.accept(op.ticket);
        else ask.fail(ErrorCode.BAD_REQUEST);
      },
      (e: unknown) => ask.fail(e instanceof HushwireError ? e.code : ErrorCode.INTERNAL),
    );
  }

  /** How long retired prekeys are kept now: prekeyRetentionMs, or longer by what the
   *  gateways told (client/prekeys.ts prekeyRetentionMs). */
  private retentionMs(told: ToldMailboxAge | undefined = this.profile.mailboxMaxAge): number {
    return prekeyRetentionMs(this.prekeyRetentionMs, told);
  }

  /**
   * Connects and authenticates; later disconnects reconnect (and re-authenticate) by
   * themselves. The first connect gives up after `connectAttempts` (UNAVAILABLE); once
   * connected, a call made while the client reconnects waits for it, up to `timeoutMs`
   * when given (then UNAVAILABLE; the reconnecting goes on).
   */
  connect(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS)) {
      return Promise.reject(badOption(`connect(timeoutMs): timeoutMs must be a positive number of milliseconds, at most ${MAX_TIMER_MS} (or left out)`));
    }
    const ended = this.endedError();
    if (ended) return Promise.reject(ended);
    return this.connected(timeoutMs);
  }

  /** conn.connect, a bare AUTH_FAILED told as after an opt-out without an answer when the
   *  profile says one was sent (client/opt-out-marker.ts). */
  private async connected(timeoutMs?: number): Promise<void> {
    try {
      await this.conn.connect(timeoutMs);
    } catch (e) {
      throw isBareAuthFailed(e) ? explainAuthFailed(e, await this.optOutMarker()) : e;
    }
  }

  /** The profile's opt-out marker as the store holds it now (another process may have
   *  written it); this client's copy when the store cannot be read. */
  private async optOutMarker(): Promise<OptOutMarker | undefined> {
    try {
      return (await readDevice(this.store)).optOut;
    } catch {
      return this.profile.optOut;
    }
  }

  /** After an authentication succeeded: a marker of an opt-out that ended before it began
   *  is cleared (that opt-out did not remove the device); one whose opt-out is over but
   *  has no end yet gets one (client/opt-out-marker.ts). Under the profile's identity
   *  lock, read again there; only when the marker may change (a read per connect
   *  otherwise). Best effort: a failure leaves it to the next connect. */
  private settleOptOut(): void {
    if (this.optOutSettling !== null || this.closing || this.optingOut || this.unregistering || this.unregistered) return;
    const began = this.authBeganAt;
    const run = (async () => {
      let marker: OptOutMarker | undefined;
      try {
        marker = (await readDevice(this.store)).optOut;
      } catch {
        return;
      }
      // Also while close() runs (a CLI command closes right after its work): it waits for this.
      if (!mayChangeAfterAuthenticated(marker, began) || this.optingOut) return;
      await this.holdingIdentityLock(async (lock) => {
        if (this.optingOut) return;
        const fresh = await readDevice(this.store);
        if (fresh.optOut === undefined) return;
        const next = afterAuthenticated(fresh.optOut, began, Date.now(), true);
        if (next === fresh.optOut) return;
        if (next === undefined) delete fresh.optOut;
        else fresh.optOut = next;
        await lock.check();
        await writeDevice(this.store, fresh);
        this.profile.optOut = next;
      });
    })().catch(() => { /* left for the next connect */ });
    this.optOutSettling = run.finally(() => { this.optOutSettling = null; });
  }

  /** Writes the profile's opt-out marker (unregister(), holding the identity lock): `sentAt`
   *  before the op goes out, `endedAt` once it failed. Best effort (the store's failure
   *  goes to onStoreError): the opt-out does not wait on a marker, which only explains a
   *  later refusal. */
  private async markOptOut(lock: ProfileLock, marker: OptOutMarker): Promise<void> {
    const write = (async () => {
      const fresh = await readDevice(this.store);
      fresh.optOut = marker;
      await lock.check();
      await writeDevice(this.store, fresh);
      this.profile.optOut = marker;
    })();
    this.storeErrors.watch(write);
    await write.catch(() => {});
  }

  /** Sends `text` to every device of `toNumber`; resolves when each is delivered or stored. */
  async send(toNumber: string, text: string): Promise<SendResult> {
    const number = parseE164(toNumber);
    if (typeof text !== 'string') throw new HushwireError(ErrorCode.BAD_REQUEST, 'text must be a string');
    const body = new TextEncoder().encode(text);
    if (body.length > MAX_TEXT_BYTES) {
      throw new HushwireError(ErrorCode.TOO_LARGE, `text is over ${MAX_TEXT_BYTES} bytes of UTF-8, the most one message holds (MAX_TEXT_BYTES)`);
    }
    const deadline = Date.now() + this.sendTimeoutMs;
    // While the client reconnects, connect() would wait without bound: the send's own
    // deadline applies to that wait too.
    const ended = this.endedError();
    if (ended) throw ended;
    await this.connected(this.sendTimeoutMs);
    const connected = (timeoutMs: number) => this.conn.connect(timeoutMs);
    const route = await retryLookup(() => this.discovery.routeFor(number, Math.max(1, deadline - Date.now())), { deadline, stop: this.sendStop, connected });
    const me: SenderKeys = {
      route: this.profile.route,
      device: this.profile.device,
      identitySecret: this.profile.identitySecret,
      identityPublic: this.profile.identityPublic,
      number: this.profile.number,
    };
    return deliverToRoute(route, {
      request: (op, timeoutMs) => this.conn.request(op, timeoutMs),
      discovery: this.discovery,
      deadline,
      pacer: this.pacer,
      stop: this.sendStop,
      connected,
      // The list about to be sealed to may be a cached one that the key book has not
      // compared (a verification or acceptance since it was looked up, racing lookups):
      // one with a device or key not accepted is compared first (told, and held by the
      // policy), and a send never seals to a key the book has not accepted.
      admit: (devices) => {
        if (!this.keys.covers(route, devices)) this.observeKeys(route, devices);
        this.keys.checkSend(route, devices);
      },
      seal: (devices) => sealForDevices(me, route, devices, body, (r, d) => this.nextSeq(r, d)),
    });
  }

  // ---- contact keys and safety numbers (client/keybook.ts; docs/CLIENT.md)

  /**
   * The safety number of this user and `number`: 60 digits over both numbers' routes
   * and every listed device's identity key (relay/crypto/safety-number.ts), looked up
   * afresh. Read it out or compare it on the other handset; when it matches there, call
   * verifyContact(number, digits). NOT_REGISTERED when the contact (or this device) is
   * not in the directory; BAD_REQUEST for this user's own number.
   */
  async safetyNumber(toNumber: string): Promise<SafetyNumber> {
    const current = await this.currentKeys(toNumber);
    return {
      digits: current.digits,
      groups: formatSafetyNumber(current.digits),
      status: this.keys.status(current.route) ?? 'unverified',
      devices: current.devices.length,
      ownDevices: current.ownDevices,
    };
  }

  /**
   * Marks the contact verified: `safetyNumber` (as shown, spaces and dashes allowed) must
   * be the one of the keys listed now, else IDENTITY_CHANGED and nothing changes (the
   * keys moved since the number was shown: show it again). Verified, a later change of
   * the contact's keys holds sends to it (keyChangePolicy).
   */
  async verifyContact(toNumber: string, safetyNumber: string): Promise<void> {
    const digits = parseSafetyNumber(safetyNumber);
    const current = await this.currentKeys(toNumber);
    if (current.digits !== digits) {
      throw identityChanged('the safety number does not match the keys listed for this contact and you now: get it again with safetyNumber() and compare it again');
    }
    await this.keys.accept(current.route, current.devices, true, current.number, this.now());
  }

  /**
   * Accepts the keys the contact's number lists now (after a change told by onKeyChange
   * or IDENTITY_CHANGED): sends go through again; the contact is no longer verified.
   * `safetyNumber`, when given (the number an app showed with its "keys changed" dialog,
   * from safetyNumber()), makes it accept exactly those keys: should the directory list
   * others by now, IDENTITY_CHANGED and nothing changes (without it, whatever is listed
   * at this moment is accepted).
   */
  async acceptContactKeys(toNumber: string, safetyNumber?: string): Promise<void> {
    if (safetyNumber !== undefined) {
      const digits = parseSafetyNumber(safetyNumber);
      const current = await this.currentKeys(toNumber);
      if (current.digits !== digits) {
        throw identityChanged('the keys listed for this contact are not the ones that safety number was shown for: show the keys again (safetyNumber()) before accepting');
      }
      await this.keys.accept(current.route, current.devices, false, current.number, this.now());
      return;
    }
    const number = parseE164(toNumber);
    const route = await this.contactRoute(number);
    const { devices } = await this.discovery.devicesFor(route, true);
    await this.keys.accept(route, devices, false, number, this.now());
  }

  /** Clears the contact's verification (its keys stay accepted). */
  async unverifyContact(toNumber: string): Promise<void> {
    const number = parseE164(toNumber);
    const route = await this.contactRoute(number);
    await this.keys.unverify(route, this.now());
  }

  /** The contact's key status as this handset knows it, without asking the gateway:
   *  undefined for a number this handset has not looked up. */
  contactKeyStatus(toNumber: string): KeyStatus | undefined {
    const route = this.routes.get(parseE164(toNumber));
    return route ? this.keys.status(route) : undefined;
  }

  /** The route of a contact (not this user's own number), once connected. */
  private async contactRoute(number: string): Promise<Uint8Array> {
    if (number === this.profile.number) throw badOption('a safety number is between you and a contact, and this is your own number: give a contact\'s number (--to in the CLI)');
    const ended = this.endedError();
    if (ended) throw ended;
    await this.connected(this.requestTimeoutMs);
    return this.discovery.routeFor(number);
  }

  /** Both numbers' devices looked up afresh, and their safety number. */
  private async currentKeys(toNumber: string): Promise<{ number: string; route: Uint8Array; devices: VerifiedDevice[]; ownDevices: number; digits: string }> {
    const number = parseE164(toNumber);
    const route = await this.contactRoute(number);
    const { devices } = await this.discovery.devicesFor(route, true);
    const own = (await this.discovery.devicesFor(this.profile.route, true)).devices;
    // This device must be listed with its own key: else the directory does not have this
    // user as this device knows it, and no number computed from it would mean anything.
    if (!own.some((d) => equalBytes(d.device, this.profile.device) && equalBytes(d.identityKey, this.profile.identityPublic))) {
      throw new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: the directory does not list this device with its key');
    }
    const digits = computeSafetyNumber(
      { route: this.profile.route, identityKeys: distinctKeys(own) },
      { route, identityKeys: distinctKeys(devices) },
    );
    return { number, route, devices, ownDevices: own.length, digits };
  }

  private nextSeq(route: Uint8Array, device: Uint8Array): number {
    const key = `${bytesToHex(route)}:${bytesToHex(device)}`;
    const seq = this.state.sendSeq.get(key) ?? 0;
    this.state.sendSeq.set(key, seq + 1);
    // Not awaited: a seq reused after a crash only weakens a reordering hint. A failed
    // write is told to onStoreError all the same (the storage is failing).
    this.storeErrors.watch(this.state.save());
    return seq;
  }

  // ---- prekey rotation (client/prekeys.ts; docs/CLIENT.md, "Prekey rotation")

  /**
   * Replaces this device's prekey: a new X25519 key pair, saved in the profile as
   * pending before the gateway is asked (set_prekey), current once it answers ok; the
   * old one is kept (retired) to open mail sealed to it until prekeyRetentionMs has
   * passed. A pending key left by a crash or a failed attempt is sent again rather
   * than a new one made. Errors: RATE_LIMITED (retryAfterMs) when the gateway's interval
   * between rotations has not passed, answered by the SDK itself, nothing sent, while the
   * retry_after_ms of the gateway's last refusal of the pending key lasts (it is kept in
   * the profile); UNAVAILABLE; UNKNOWN_OP from a gateway without the op. The pending key
   * stays saved after any failure (and is tried again).
   */
  rotatePrekey(): Promise<void> {
    const ended = this.endedError() ?? this.optingOutError();
    if (ended) return Promise.reject(ended);
    return this.rotate(true);
  }

  /** One rotation at a time in this client; another process is kept out by the
   *  profile's identity lock. `force`: rotate even when not due, unless a rotation
   *  completed since this call (one under way, the automatic one, or another process's):
   *  a second new key right after it would only be refused RATE_LIMITED. */
  private rotate(force: boolean): Promise<void> {
    const sinceAtCall = this.profile.prekeySince;
    const run = (this.rotating ?? Promise.resolve()).catch(() => {}).then(() => this.rotateNow(force, sinceAtCall));
    const mine = run.finally(() => {
      if (this.rotating === mine) this.rotating = null;
    });
    this.rotating = mine;
    return mine;
  }

  private async rotateNow(force: boolean, sinceAtCall: number | undefined): Promise<void> {
    // Queued behind another rotation that close() or unregister() began meanwhile: none
    // begins after them (no key made, nothing written).
    const ended = this.stopRotationError();
    if (ended) throw ended;
    await this.holdingIdentityLock(async (lock) => {
      // The lock may have been waited for (another process held it).
      const late = this.stopRotationError();
      if (late) throw late;
      // Each write checks first that the lock is still this process's: one taken over
      // while this process stalled (past the lock's stale time, or during the set_prekey
      // request) may have let another process opt the profile out or rotate, and this
      // write, built on the read below, would bring back a deleted device record or undo
      // that rotation. Refused BAD_REQUEST instead, writing nothing (a pending key stays
      // pending, and is sent again).
      const save = async (p: DeviceProfile): Promise<void> => {
        await lock.check();
        await writeDevice(this.store, p);
      };
      // Read again under the lock: another process may have rotated meanwhile.
      const fresh = await readDevice(this.store);
      if (fresh.prekeySince !== sinceAtCall) force = false;
      const now = this.now();
      // What a gateway told this client and what another process saved, as one.
      const age = mergeMailboxAge(fresh.mailboxMaxAge, this.profile.mailboxMaxAge);
      const ageChanged = mailboxAgeToSave(fresh.mailboxMaxAge, age);
      if (ageChanged) fresh.mailboxMaxAge = age;
      const retention = this.retentionMs(age);
      const retired = fresh.retiredPrekeys ?? [];
      const kept = keepRetired(retired, now, retention, this.maxRetiredPrekeys);
      let changed = ageChanged || kept.length !== retired.length;
      fresh.retiredPrekeys = kept;
      // A pending key the gateway refused RATE_LIMITED is not sent again before its
      // retry_after_ms has passed (this process's refusal or another's: it is kept in
      // device.json): it would only be refused again. The automatic check does the rest of
      // its work and leaves it (maintainPrekeys comes back then); rotatePrekey() is
      // answered as the gateway would answer it, without asking.
      const hold = pendingHoldMs(fresh.pendingPrekey, now);
      if (hold > 0) {
        if (changed) await save(fresh);
        this.adoptPrekeys(fresh);
        if (force) {
          throw new HushwireError(ErrorCode.RATE_LIMITED, 'prekey rotated too recently: the gateway refused the pending prekey and said when to send it again; it is sent then', { retryAfterMs: hold });
        }
        return;
      }
      const due = force || fresh.pendingPrekey !== undefined || rotationDue(prekeySinceOf(fresh), now, this.prekeyRotationMs);
      if (!due) {
        if (changed) await save(fresh);
        this.adoptPrekeys(fresh);
        return;
      }
      let pending = fresh.pendingPrekey;
      if (pending === undefined) {
        const kp = generateKeyPair();
        pending = { secret: kp.secretKey, public: kp.publicKey, signature: sign(fresh.identitySecret, prekeyInput(kp.publicKey)), createdAt: now };
        fresh.pendingPrekey = pending;
        changed = true;
      }
      // Saved before the gateway hears of it: a crash after the gateway took it leaves a
      // key this device still has (and sends again on its next start).
      if (changed) await save(fresh);
      this.adoptPrekeys(fresh);
      await this.conn.connect(this.requestTimeoutMs);
      try {
        await this.conn.request({ setPrekey: { prekey: pending.public, prekeySignature: pending.signature } });
      } catch (e) {
        // Refused for now (the rotation interval, or this connection's set_prekey budget):
        // when to send it again is kept with the key, here and in device.json, so no
        // connect of this or another process sends it sooner (pendingHoldMs). The write
        // is advice: should it fail, this client still remembers, and the refusal is what
        // the caller is told.
        if (e instanceof HushwireError && e.code === ErrorCode.RATE_LIMITED && e.retryAfterMs > 0) {
          const held: DeviceProfile = { ...fresh, pendingPrekey: refusedPending(pending, this.now(), e.retryAfterMs) };
          this.adoptPrekeys(held);
          try {
            await save(held);
          } catch { /* kept in memory; the next refusal writes it again */ }
        }
        throw e;
      }
      const at = this.now();
      const next: DeviceProfile = {
        ...fresh,
        prekeySecret: pending.secret,
        prekeyPublic: pending.public,
        prekeySince: at,
        retiredPrekeys: keepRetired([{ secret: fresh.prekeySecret, public: fresh.prekeyPublic, retiredAt: at }, ...kept], at, retention, this.maxRetiredPrekeys),
      };
      delete next.pendingPrekey;
      await save(next);
      this.adoptPrekeys(next);
    });
  }

  /** Takes the prekey fields of a profile read from the store, or just written to it
   *  (same device). The told mailbox max age is merged, not replaced: a gateway may have
   *  told this client a newer one than the store has yet. */
  private adoptPrekeys(p: DeviceProfile): void {
    const me = this.profile;
    this.savedMailboxAge = p.mailboxMaxAge;
    const age = mergeMailboxAge(me.mailboxMaxAge, p.mailboxMaxAge);
    if (age !== undefined) me.mailboxMaxAge = age;
    me.prekeySecret = p.prekeySecret;
    me.prekeyPublic = p.prekeyPublic;
    if (p.prekeySince !== undefined) me.prekeySince = p.prekeySince;
    else delete me.prekeySince;
    me.retiredPrekeys = p.retiredPrekeys ?? [];
    if (p.pendingPrekey !== undefined) me.pendingPrekey = p.pendingPrekey;
    else delete me.pendingPrekey;
  }

  /** The secrets an envelope may be sealed to: current, pending, then the retired ones
   *  still within the retention window by the clock (newest first). */
  private prekeySecrets(): Uint8Array[] {
    const me = this.profile;
    const out = [me.prekeySecret];
    if (me.pendingPrekey !== undefined) out.push(me.pendingPrekey.secret);
    for (const r of keepRetired(me.retiredPrekeys ?? [], this.now(), this.retentionMs(), this.maxRetiredPrekeys)) out.push(r.secret);
    return out;
  }

  /** The inbox found no key for an envelope: another process (a `hushwire rotate-prekey`
   *  beside a `listen`) may have rotated. Resolves whether the profile's keys changed. */
  private async reloadPrekeys(): Promise<boolean> {
    const fresh = await readDevice(this.store);
    const me = this.profile;
    if (!equalBytes(fresh.device, me.device)) return false;
    const samePending = (fresh.pendingPrekey === undefined) === (me.pendingPrekey === undefined)
      && (fresh.pendingPrekey === undefined || equalBytes(fresh.pendingPrekey.public, me.pendingPrekey!.public));
    if (equalBytes(fresh.prekeyPublic, me.prekeyPublic) && samePending) return false;
    this.adoptPrekeys(fresh);
    return true;
  }

  /** After each connect, and every ownDevicesCheckMs while connected: looks this user's
   *  own number up afresh, so the key book compares its devices (a device it has not
   *  seen is told through onKeyChange, own: true). Never fatal: a failed look is simply
   *  made again at the next connect or timer. */
  private checkOwnDevices(): void {
    if (this.ownDevicesCheckMs <= 0 || this.closing || this.unregistering || this.unregistered || this.optingOut || this.ownChecking) return;
    const wait = this.ownCheckedAt + this.ownDevicesCheckMs - Date.now();
    if (wait > 0) return this.ownTimer.schedule(wait);
    this.ownChecking = true;
    this.discovery.devicesFor(this.profile.route, true).catch(() => {}).finally(() => {
      this.ownChecking = false;
      this.ownCheckedAt = Date.now();
      this.ownTimer.schedule(this.ownDevicesCheckMs);
    });
  }

  /** After each connect: rotates when due (or a pending key is left, once the gateway's
   *  retry_after_ms for it has passed), deletes retired secrets past the retention
   *  window, saves the mailbox max age a gateway told when it changed (or, told again, a
   *  day after it was last saved). Never fatal: a failure is tried again later (after the
   *  gateway's retry_after_ms, else after a backoff up to 6 h). */
  private maintainPrekeys(): void {
    if (this.closing || this.unregistering || this.unregistered || this.optingOut) return;
    this.prekeyTimer.cancel();
    const me = this.profile;
    const now = this.now();
    const retired = me.retiredPrekeys ?? [];
    // A pending key is sent only once the gateway's last refusal of it has run out: a
    // connect (every `hushwire send`, every reconnect of a `listen`) sent it again
    // before, and each was one more RATE_LIMITED at the gateway.
    const rotation = me.pendingPrekey !== undefined
      ? pendingHoldMs(me.pendingPrekey, now) === 0
      : rotationDue(prekeySinceOf(me), now, this.prekeyRotationMs);
    const work = rotation
      || keepRetired(retired, now, this.retentionMs(), this.maxRetiredPrekeys).length !== retired.length
      || mailboxAgeToSave(this.savedMailboxAge, me.mailboxMaxAge);
    if (!work) return this.prekeyTimer.schedule(this.nextPrekeyCheck(now));
    this.rotate(false).then(() => {
      this.prekeyFailures = 0;
      this.prekeyTimer.schedule(this.nextPrekeyCheck(this.now()));
    }, (e: unknown) => {
      if (e instanceof HushwireError && e.code === ErrorCode.RATE_LIMITED && e.retryAfterMs > 0) {
        // The gateway's interval between rotations (or its per-connection budget): an
        // answer the rotation expects, not a failure. The key waits with its hold
        // (rotateNow kept it) and is sent when that ends; the backoff does not grow.
        this.prekeyTimer.schedule(this.nextPrekeyCheck(this.now()));
        return;
      }
      // Backoff from 1 min doubling to 6 h (full jitter, at least 1 s), or the gateway's
      // retry_after_ms when it is longer.
      const after = e instanceof HushwireError && e.retryAfterMs > 0 ? e.retryAfterMs : 0;
      const backoff = Math.max(1_000, fullJitterDelay(this.prekeyFailures++, PREKEY_RETRY_BACKOFF));
      this.prekeyTimer.schedule(Math.max(after, backoff));
    });
  }

  /** Ms until the current prekey is due, or a pending one may be sent again (the
   *  gateway's hold on it: pendingHoldMs), or the next retired one expires; at least 1 s,
   *  at most a day. */
  private nextPrekeyCheck(now: number): number {
    const me = this.profile;
    let at = me.pendingPrekey !== undefined
      ? now + pendingHoldMs(me.pendingPrekey, now)
      : this.prekeyRotationMs > 0 ? prekeySinceOf(me) + this.prekeyRotationMs : Infinity;
    const retention = this.retentionMs();
    for (const r of me.retiredPrekeys ?? []) at = Math.min(at, r.retiredAt + retention);
    return Math.min(Math.max(at - now, 1_000), 86_400_000);
  }

  /** Received messages, each once (dedup by envelope id across restarts). One reader at
   *  a time: starting to iterate while another iterator is active (neither ended nor
   *  given back by return(), which `for await` calls on break) throws BAD_REQUEST, as does
   *  iterating a client opened with `receive: false`. With `manualAck: true` each message
   *  is recorded and handed over but not acknowledged: the app calls ack(message) once it
   *  has shown it, or giveBack(message) when it could not (docs/CLIENT.md, messages()). */
  messages(options: { manualAck?: boolean } = {}): AsyncIterable<ReceivedMessage> {
    if (typeof options !== 'object' || options === null || (options.manualAck !== undefined && typeof options.manualAck !== 'boolean')) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'messages(options): options must be an object whose manualAck, when given, is true or false');
    }
    const manualAck = options.manualAck === true;
    return {
      [Symbol.asyncIterator]: () => {
        // It would wait forever: deliveries are left to another process's reader.
        if (!this.receive) throw new HushwireError(ErrorCode.BAD_REQUEST, 'this client was opened with receive: false: it takes no messages (open it without that option to read)');
        return this.inbox.reader({ manualAck });
      },
    };
  }

  /** Acknowledges a message that messages({ manualAck: true }) handed over, once the app
   *  has shown it. false when it waits for no ack (acknowledged or given back already). */
  ack(message: Pick<ReceivedMessage, 'id'>): boolean {
    return this.inbox.ack(messageId(message, 'ack'));
  }

  /** Gives back a message that messages({ manualAck: true }) handed over and the app
   *  could not show: its id is forgotten in the profile (written before this resolves) and
   *  it is not acknowledged, so the relay delivers it again. Resolves false when it waits
   *  for no ack; a failed write is told to onStoreError and tried again, as a message's
   *  record is; rejects with the store's error once 3 in a row failed. */
  giveBack(message: Pick<ReceivedMessage, 'id'>): Promise<boolean> {
    try {
      return this.inbox.giveBack(messageId(message, 'giveBack'));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Which of `numbers` use Hushwire (a contact sync), without the numbers leaving the
   * handset: blinded VOPRF evaluation, then batched fixed-size lookups (client/contacts.ts).
   * Each number counts against this device's discovery budget (RATE_LIMITED beyond it):
   * sync once, then ask only about new contacts. What it finds is kept as a send's
   * lookup keeps it: each registered contact's route (routes.json, so a later send or
   * sender check evaluates nothing more) and its devices' keys (keys.json: the first use
   * of the contact is the sync, not the first message).
   */
  async discover(numbers: Iterable<string>): Promise<Map<string, ContactStatus>> {
    const list = numberList(numbers);
    const ended = this.endedError();
    if (ended) throw ended;
    await this.connected(this.requestTimeoutMs);
    return discoverContacts(this.lookups, this.profile.oprfPublicKey, list, (number, route, devices) => {
      // Best effort, as after a send's lookup: a lost write only means asking again.
      this.storeErrors.watch(this.routes.set(number, route));
      this.keys.noteNumber(route, number);
      this.observeKeys(route, devices);
    });
  }

  /** Opt-out: the relay erases this device (keys, directory entry, mailbox); then the
   *  profile's device, state and routes records go. */
  async unregister(): Promise<void> {
    if (this.relayErased && !this.unregistered) {
      // The relay has erased the device; only the profile's records failed to go.
      await this.holdingIdentityLock(() => removeDevice(this.store));
      this.unregistered = true;
      return;
    }
    const ended = this.endedError() ?? this.optingOutError();
    if (ended) throw ended;
    // No rotation from here on (rotatePrekey() is refused, the automatic one does not
    // start, not even on the connect below); the one under way ends first: it takes the
    // identity lock too.
    this.optingOut = true;
    this.prekeyTimer.cancel();
    this.ownTimer.cancel();
    // A ticket must not outlive the opt-out: forgotten now (the gateway would refuse it
    // once the device is erased anyway); none is asked for while opting out.
    this.resumption.forget();
    try {
      await this.rotating?.catch(() => {});
      // A look at the opt-out marker after a connect may be waiting for the lock too: it
      // gives up once it has it (optingOut), so it goes first.
      await this.optOutSettling;
      // Another process must not register or unregister this profile meanwhile (a
      // device.json it writes would be deleted below, its device left at the relay).
      await this.holdingIdentityLock(async (lock) => {
        await this.connected(this.requestTimeoutMs);
        // Remembered before the op goes out: should its answer never come (UNAVAILABLE,
        // TIMEOUT, the connection lost, the process ended), the relay may have removed
        // the device all the same, and a later AUTH_FAILED is then told so (not a bare
        // refusal). Gone with device.json when the opt-out succeeds.
        const sentAt = Date.now();
        await this.markOptOut(lock, { sentAt });
        this.unregistering = true;
        try {
          // Signed with the identity key: a gateway takes an opt-out on a connection
          // resumed with a ticket only so (PROTOCOL section 7); a signed one ignores it.
          const { route, device, identitySecret } = this.profile;
          await this.conn.request({ unregister: { route, signature: sign(identitySecret, unregisterInput(route, device)) } });
        } catch (e) {
          this.unregistering = false;
          // Failed after it was sent, whatever the error: its outcome at the relay is not
          // known here. Ended now: an authentication begun after this that succeeds shows
          // the device still registered, and clears the marker (settleOptOut).
          await this.markOptOut(lock, { sentAt, endedAt: Math.max(Date.now(), sentAt) });
          throw e;
        }
        this.relayErased = true;
        this.resumption.disable();
        // Close first: it waits for pending state writes, which must not recreate state.json.
        await this.close();
        // A store that fails here rejects with its error; calling unregister() again tries
        // the profile's records again (the relay's part is done).
        await removeDevice(this.store);
      });
    } catch (e) {
      if (!this.relayErased) {
        // Still registered: rotation and the look at the own number go on as before
        // (checked now when connected; else at the next connect).
        this.optingOut = false;
        if (this.conn.state === 'connected') {
          this.maintainPrekeys();
          this.checkOwnDevices();
        }
      }
      throw e;
    }
    this.unregistered = true;
  }

  /** Runs `fn` holding the profile's identity lock (client/store.ts lockIdentity), once
   *  the profile is found to still hold this client's device: another process may have
   *  unregistered it (NOT_REGISTERED), or registered another device in it, since open(). */
  private async holdingIdentityLock(fn: (lock: ProfileLock) => Promise<void>): Promise<void> {
    const lock = await lockIdentity(this.store);
    try {
      const current = await readDevice(this.store);
      if (!equalBytes(current.device, this.profile.device)) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, 'this profile holds another device now (registered by another process since this client opened it): open it again');
      }
      await fn(lock);
    } finally {
      await lock.release();
    }
  }

  /** Why a call made now cannot work, or null: the device opted out (NOT_REGISTERED), or
   *  the app closed the client (UNAVAILABLE, saying so: no retry on this object helps). A
   *  connection ended by the gateway (4003, AUTH_FAILED) keeps its own error. */
  private endedError(): HushwireError | null {
    if (this.unregistered) return new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: this device has already opted out');
    if (this.closing && !this.unregistering) {
      return new HushwireError(ErrorCode.UNAVAILABLE, 'the client is closed (close() was called): open the profile again for a new client');
    }
    return null;
  }

  /** Why no rotation may begin now: the client is closing, or opting out. */
  private stopRotationError(): HushwireError | null {
    if (this.closing && !this.unregistering) return this.endedError();
    return this.optingOutError();
  }

  /** A rotation asked for while unregister() is under way. */
  private optingOutError(): HushwireError | null {
    return this.optingOut ? new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: this device is opting out (unregister() is under way)') : null;
  }

  /** Idempotent: stops reading, persists dedup state, flushes acks, closes the socket. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.resumption.disable();
    this.sendStop.stop(new HushwireError(ErrorCode.UNAVAILABLE, 'the client is closed (close() was called)'));
    this.prekeyTimer.cancel();
    this.ownTimer.cancel();
    this.inbox.end();
    // The profile's writes are waited for within closeTimeoutMs in all: an fsync on a
    // stalled disk would otherwise hold close() (and the process that awaits it) for as
    // long as the disk stalls. The connection is closed whatever the waits come to.
    const deadline = Date.now() + this.closeTimeoutMs;
    const writes = async () => {
      await this.inbox.settled();
      await this.state.settled();
      await this.routes.settled();
      await this.keys.settled();
      // It may hold the profile's identity lock: let it go before the process ends.
      await this.optOutSettling;
    };
    let failure: { e: unknown } | null = null;
    let inTime = false;
    try {
      inTime = await untilDeadline(writes(), deadline);
    } catch (e) {
      failure = { e };
    }
    try {
      await this.conn.close();
    } catch (e) {
      failure ??= { e };
    }
    if (inTime) {
      try {
        // A lookup answered while the waits above ran may have begun another save of the
        // route or key book (one queued behind a save under way is not in what was
        // waited for); no answer comes once the connection is closed. A rotation under
        // way ends with the connection (its request fails, its pending key stays saved)
        // or finishes its profile write; either way it lets the lock go.
        inTime = await untilDeadline((async () => {
          await this.routes.settled();
          await this.keys.settled();
          await this.rotating?.catch(() => {});
        })(), deadline);
      } catch (e) {
        failure ??= { e };
      }
    }
    if (!inTime && failure === null) {
      const late = new HushwireError(ErrorCode.UNAVAILABLE, `${CLOSE_LATE_MESSAGE.start}${this.closeTimeoutMs}${CLOSE_LATE_MESSAGE.end}`);
      this.storeErrors.report(Promise.resolve(late), late);
    }
    if (failure !== null) throw failure.e;
  }
}
