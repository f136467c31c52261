// HushwireClient: the handset SDK. It ties a profile (keys, dedup state) to a
// connection that authenticates on every (re)connect, a discovery cache, the send path
// and the inbox. Nothing here logs: errors carry codes and safe messages, and keys,
// numbers and routes never leave the object except inside sealed envelopes.
//
// Portable: no Node import here or below (client/portable.ts is the entry that proves
// it). A profile is a ProfileStore (client/store.ts), or on Node a directory path, which
// the Node entry (client/node.ts) teaches the platform to open.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sign, authInput } from '../relay/crypto/sign.ts';
import { parseE164 } from '../relay/number.ts';
import { HushwireError, ErrorCode, CloseCode } from '../relay/errors.ts';
import { Connection, type ConnectionState, type StateChange, type AuthContext } from './connection-core.ts';
import { Discovery, verifyDevices } from './discovery.ts';
import { sharesMatchKey } from '../relay/crypto/oprf-split.ts';
import { SenderVerifier } from './senders.ts';
import { Inbox, type ReceivedMessage, type InboxStats, type DropReason } from './inbox.ts';
import { deliverToRoute, retryLookup, sealForDevices, SendPacer, SendStop, MAX_TEXT_BYTES, type SendResult, type SenderKeys } from './outgoing.ts';
import { registerDevice, type RegisterOptions, type RegisterResult } from './register.ts';
import { readDevice, readGateways, readState, removeDevice, checkGatewayUrl, type DeviceProfile, type ProfileState } from './profile-data.ts';
import { fullJitterDelay } from './backoff.ts';
import { readRouteBook, ROUTES_CAPACITY, type RouteBook } from './routes.ts';
import { SEEN_CAPACITY } from './profile-data.ts';
import { isProfileStore, lockIdentity, type ProfileStore } from './store.ts';
import { openDirectory, checkRandom } from './platform.ts';
import type { WebSocketConstructor } from './socket.ts';
import { discoverContacts, MAX_DISCOVER, type ContactStatus } from './contacts.ts';

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
  /** false: ignore deliveries (a send-only process leaves them queued for the reader). */
  receive?: boolean;
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
   *  sequence number weakens an ordering hint). */
  onStoreError?: (err: unknown) => void;
  /** When another connection of this device takes over (4003), come back after a pause
   *  instead of stopping: a long-running reader lets a `send` on the same profile finish. */
  reclaimAfterTakeover?: boolean;
  onState?: (change: StateChange) => void;
  /** The gateway's notices about this account. kind "new_device": another device
   *  registered this number (if that was not you, the number may have been taken over).
   *  A notice for an offline device is delivered on its next connect. */
  onNotice?: (notice: Notice) => void;
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

/** A duration option: undefined, or a positive finite number of milliseconds. */
function checkMs(options: Record<string, unknown>, name: string): void {
  const v = options[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw badOption(`option ${name} must be a positive number of milliseconds`);
  }
}

/** The gateways option of open() and register(): a non-empty array of ws(s):// URLs. */
export function checkGatewayList(v: unknown): string[] {
  if (!Array.isArray(v)) throw badOption('gateways must be an array of ws:// or wss:// URLs');
  if (v.length === 0) throw badOption('gateways must list at least one ws:// or wss:// URL');
  return v.map((u: unknown) => checkGatewayUrl(u as string));
}

/** BAD_REQUEST, naming the option, for an options argument open() cannot use. */
export function checkClientOptions(options: unknown): ClientOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badOption('options must be an object (or left out)');
  }
  const o = options as Record<string, unknown>;
  for (const name of ['requestTimeoutMs', 'sendTimeoutMs', 'pingIntervalMs', 'idleTimeoutMs']) checkMs(o, name);
  if (o.connectAttempts !== undefined && (typeof o.connectAttempts !== 'number' || !Number.isInteger(o.connectAttempts) || o.connectAttempts < 1)) {
    throw badOption('option connectAttempts must be a positive integer');
  }
  if (typeof o.idleTimeoutMs === 'number' && typeof o.pingIntervalMs === 'number' && o.idleTimeoutMs < o.pingIntervalMs) {
    throw badOption('option idleTimeoutMs must not be below pingIntervalMs (keep it over twice the interval)');
  }
  for (const name of ['onState', 'onNotice', 'onDropped', 'onStoreError']) {
    if (o[name] !== undefined && typeof o[name] !== 'function') throw badOption(`option ${name} must be a function`);
  }
  if (o.gateways !== undefined) checkGatewayList(o.gateways);
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
  private readonly conn: Connection;
  private readonly discovery: Discovery;
  private readonly inbox: Inbox;
  private readonly sendTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  /** ClientOptions.receive. */
  private readonly receive: boolean;
  /** Spaces this client's sends while the gateway rate-limits them. */
  private readonly pacer = new SendPacer();
  /** Ends the sends' backoff waits at close(). */
  private readonly sendStop = new SendStop();
  /** ClientOptions.onStoreError, made safe to call (an app callback that throws changes nothing). */
  private readonly storeError: (err: unknown) => void;
  private unregistering = false;
  private unregistered = false;
  /** The relay answered the unregister op: the device is gone there. */
  private relayErased = false;
  private closing: Promise<void> | null = null;

  /** Registers a new device for `number` in `profileDir` or `store` (opt-in). */
  static register(opts: RegisterOptions): Promise<RegisterResult> {
    return registerDevice(opts);
  }

  /** Opens a registered profile (a ProfileStore, or on Node a directory); HushwireError
   *  NOT_REGISTERED when it has no device. */
  static async open(profileOrDir: Profile, opts?: ClientOptions): Promise<HushwireClient> {
    const options = checkClientOptions(opts);
    checkRandom();
    const store = profileStore(profileOrDir);
    const profile = await readDevice(store);
    const gateways = options.gateways !== undefined ? checkGatewayList(options.gateways) : await readGateways(store);
    // Both are the device's: a save after another process opted the profile out removes
    // what it wrote and fails NOT_REGISTERED (writeForDevice), so no contact's number
    // outlives the opt-out.
    const state = await readState(store, SEEN_CAPACITY, { requireDevice: true });
    const routes = await readRouteBook(store, profile.oprfPublicKey, ROUTES_CAPACITY, { requireDevice: true });
    return new HushwireClient(typeof profileOrDir === 'string' ? profileOrDir : undefined, store, profile, gateways, state, routes, options);
  }

  private constructor(profileDir: string | undefined, store: ProfileStore, profile: DeviceProfile, gateways: string[], state: ProfileState, routes: RouteBook, options: ClientOptions) {
    this.profileDir = profileDir;
    this.store = store;
    this.profile = profile;
    this.state = state;
    this.routes = routes;
    const onStoreError = options.onStoreError;
    this.storeError = (err) => {
      try {
        onStoreError?.(err);
      } catch { /* the application's callback must not break the client */ }
    };
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const receive = options.receive ?? true;
    this.receive = receive;
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
        if (op.notice && options.onNotice) options.onNotice({ kind: String(op.notice.kind ?? ''), atMs: Number(op.notice.atMs ?? 0) });
      },
      onState: (change) => {
        if (change.to === 'closed') {
          // After our own unregister, the gateway's 4006 close is the expected ending.
          this.inbox.end(this.unregistering ? null : change.error ?? null);
        }
        userOnState?.(change);
      },
    });
    const request = (op: Parameters<Connection['request']>[0], timeoutMs?: number) => this.conn.request(op, timeoutMs);
    this.discovery = new Discovery(request, profile.oprfPublicKey, { routeStore: routes, onStoreError: this.storeError });
    const verifier = new SenderVerifier(this.discovery);
    this.inbox = new Inbox({
      me: { route: profile.route, device: profile.device, prekeySecret: profile.prekeySecret },
      state,
      ack: (ids) => this.conn.ack(ids),
      verifySender: (opened) => verifier.verify(opened),
      acceptUnverified: options.acceptUnverified ?? false,
      ...(options.onDropped ? { onDropped: options.onDropped } : {}),
      ...(options.onStoreError ? { onStoreError: options.onStoreError } : {}),
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

  private async authenticate(ctx: AuthContext): Promise<void> {
    // A gateway with another OPRF key lives in another routing universe (or is lying):
    // nothing it says about routes could be checked, so refuse it outright.
    if (!equalBytes(ctx.challenge.oprfPublicKey, this.profile.oprfPublicKey)) {
      throw new HushwireError(
        ErrorCode.AUTH_FAILED,
        "gateway's OPRF key does not match the pinned key: it is another deployment, or a dev gateway that restarted " +
          'with a new key (this profile cannot be used with it; `hushwire unregister --forget-locally` removes it)',
      );
    }
    // A split key's shares must add up to the pinned key (each answer is checked again).
    const shares = ctx.challenge.oprfShareKeys;
    if (shares.length > 0 && !sharesMatchKey(shares, this.profile.oprfPublicKey)) {
      throw new HushwireError(ErrorCode.AUTH_FAILED, 'OPRF share keys do not add up to the pinned key');
    }
    const { route, device, identitySecret } = this.profile;
    await ctx.request({ auth: { route, device, signature: sign(identitySecret, authInput(ctx.challenge.nonce, route, device)) } });
  }

  /**
   * Connects and authenticates; later disconnects reconnect (and re-authenticate) by
   * themselves. The first connect gives up after `connectAttempts` (UNAVAILABLE); once
   * connected, a call made while the client reconnects waits for it, up to `timeoutMs`
   * when given (then UNAVAILABLE; the reconnecting goes on).
   */
  connect(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      return Promise.reject(badOption('connect(timeoutMs): timeoutMs must be a positive number of milliseconds (or left out)'));
    }
    const ended = this.endedError();
    if (ended) return Promise.reject(ended);
    return this.conn.connect(timeoutMs);
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
    await this.conn.connect(this.sendTimeoutMs);
    const connected = (timeoutMs: number) => this.conn.connect(timeoutMs);
    const route = await retryLookup(() => this.discovery.routeFor(number), { deadline, stop: this.sendStop, connected });
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
      seal: (devices) => sealForDevices(me, route, devices, body, (r, d) => this.nextSeq(r, d)),
    });
  }

  private nextSeq(route: Uint8Array, device: Uint8Array): number {
    const key = `${bytesToHex(route)}:${bytesToHex(device)}`;
    const seq = this.state.sendSeq.get(key) ?? 0;
    this.state.sendSeq.set(key, seq + 1);
    // Not awaited: a seq reused after a crash only weakens a reordering hint. A failed
    // write is told to onStoreError all the same (the storage is failing).
    this.state.save().catch(this.storeError);
    return seq;
  }

  /** Received messages, each once (dedup by envelope id across restarts). One reader at
   *  a time: starting to iterate while another iterator is active (neither ended nor
   *  given back by return(), which `for await` calls on break) throws BAD_REQUEST, as does
   *  iterating a client opened with `receive: false`. */
  messages(): AsyncIterable<ReceivedMessage> {
    return {
      [Symbol.asyncIterator]: () => {
        // It would wait forever: deliveries are left to another process's reader.
        if (!this.receive) throw new HushwireError(ErrorCode.BAD_REQUEST, 'this client was opened with receive: false: it takes no messages (open it without that option to read)');
        return this.inbox.reader();
      },
    };
  }

  /**
   * Which of `numbers` use Hushwire (a contact sync), without the numbers leaving the
   * handset: blinded VOPRF evaluation, then batched fixed-size lookups (client/contacts.ts).
   * Each number counts against this device's discovery budget (RATE_LIMITED beyond it):
   * sync once, then ask only about new contacts.
   */
  async discover(numbers: Iterable<string>): Promise<Map<string, ContactStatus>> {
    const list = numberList(numbers);
    const ended = this.endedError();
    if (ended) throw ended;
    await this.conn.connect(this.requestTimeoutMs);
    return discoverContacts((op, timeoutMs) => this.conn.request(op, timeoutMs), this.profile.oprfPublicKey, list);
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
    const ended = this.endedError();
    if (ended) throw ended;
    // Another process must not register or unregister this profile meanwhile (a
    // device.json it writes would be deleted below, its device left at the relay).
    await this.holdingIdentityLock(async () => {
      await this.conn.connect(this.requestTimeoutMs);
      this.unregistering = true;
      try {
        await this.conn.request({ unregister: {} });
      } catch (e) {
        this.unregistering = false;
        throw e;
      }
      this.relayErased = true;
      // Close first: it waits for pending state writes, which must not recreate state.json.
      await this.close();
      // A store that fails here rejects with its error; calling unregister() again tries
      // the profile's records again (the relay's part is done).
      await removeDevice(this.store);
    });
    this.unregistered = true;
  }

  /** Runs `fn` holding the profile's identity lock (client/store.ts lockIdentity), once
   *  the profile is found to still hold this client's device: another process may have
   *  unregistered it (NOT_REGISTERED), or registered another device in it, since open(). */
  private async holdingIdentityLock(fn: () => Promise<void>): Promise<void> {
    const lock = await lockIdentity(this.store);
    try {
      const current = await readDevice(this.store);
      if (!equalBytes(current.device, this.profile.device)) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, 'this profile holds another device now (registered by another process since this client opened it): open it again');
      }
      await fn();
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

  /** Idempotent: stops reading, persists dedup state, flushes acks, closes the socket. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.sendStop.stop(new HushwireError(ErrorCode.UNAVAILABLE, 'the client is closed (close() was called)'));
    this.inbox.end();
    await this.inbox.settled();
    await this.state.settled();
    await this.routes.settled();
    await this.conn.close();
  }
}
