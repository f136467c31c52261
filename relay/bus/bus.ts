// The Bus is everything a stateless gateway needs from the outside world: live delivery
// to whichever gateway holds a device's socket, per-device mailboxes, the device
// directory and a control channel. Two implementations honour the same contract
// (test/bus/contract.ts): `MemoryBus` (embedded single node, the default) and
// `NatsBus` (core subjects + JetStream stream + JetStream KV).
//
// All keys are tokens checked by relay/tokens.ts (`routeTag`, `deviceToken`): 32
// lowercase hex chars. Implementations re-check them before building any subject.
//
// Common rules (both implementations, enforced by the contract tests):
// - Argument checks come first: a bad token throws HushwireError BAD_TOKEN (before
//   anything reaches the bus, even a closed one); other bad arguments BAD_REQUEST.
// - Before start() and after close() every call throws UNAVAILABLE; start() after
//   close() too. status() is 'closed' then.
// - The bus copies what it is given (the caller may reuse its buffers at once); treat
//   the Uint8Arrays it hands out as read-only.
import type { Recipient } from '../tokens.ts';
import type { UnregisteredVerdict } from './unregistered.ts';

export type { UnregisteredVerdict } from './unregistered.ts';

/** What a gateway hears of devices leaving the directory anywhere (Bus.watchUnregistered). */
export interface UnregisteredListener {
  /** A device (`<routeTag>.<deviceToken>`) left the directory: announced by the gateway
   *  that removed it. The bus has already handed `unregistered` to its subscriptions of
   *  the device here. */
  unregistered(key: string): void;
  /** Announcements may have been missed while the bus was disconnected: it is connected
   *  again, and `lostAt` (the clock of unregisteredMark) is when it found the connection
   *  lost. An announcement sent to a connection that was dying may have been lost up to
   *  UNREGISTERED_LOOKBACK_MS (relay/bus/unregistered.ts) before that. */
  gap(lostAt: number): void;
  /** Devices (`<routeTag>.<deviceToken>`) whose removal was announced as intended
   *  (Bus.announceUnregistering) and whose `unregistered` did not follow within
   *  UNREGISTERING_TIMEOUT_MS: the removing gateway may have died between the removal
   *  and its announcement. Their sessions here read the record at the directory's leader. */
  unconfirmed?(keys: string[]): void;
}

/** Called with an encoded Envelope for a device whose socket this gateway holds.
 *  Resolves true once the device acknowledged it, false if it could not be handed over
 *  (socket closing, send buffer full). Must not throw. Either a function returning a
 *  promise, or a LiveSink (the same with a callback: the gateway's sessions use it, one
 *  promise and its closures less per delivered envelope). */
export type LiveHandler = ((envelope: Uint8Array) => Promise<boolean>) | LiveSink;

/** The callback form of a LiveHandler: `done` is called exactly once with the outcome. */
export interface LiveSink {
  offer(envelope: Uint8Array, done: (delivered: boolean) => void): void;
}

/** Receives a device's control messages: a function, or an object with `control` (a
 *  session hands itself, so an idle device costs no closure for it). */
export type ControlHandler = ((msg: ControlMessage) => void) | ControlSink;

export interface ControlSink {
  control(msg: ControlMessage): void;
  /** The id of the connection this sink is (the one its kick carried), '' once it is
   *  closed. A bus asks the device's newest subscription before publishing a kick of
   *  its again after a reconnect: only the kick of the connection that still holds the
   *  device goes out again. */
  currentConnection?(): string;
}

/** Control messages between gateways about one device. */
export type ControlMessage =
  // a newer connection of this device exists elsewhere. `again`: published once more by
  // a gateway after its NATS connection came back (the first may have been dropped,
  // relay/bus/nats.ts #publishUnconfirmed): the receiver decides by the connection ids'
  // times, whatever their age (relay/session.ts #onKick)
  | { kind: 'kick'; connection: string; again?: true }
  | { kind: 'unregistered' }               // the device opted out from another connection
  // another device registered this device's number (relay/privacy/privacy.ts)
  | { kind: 'notice'; notice: 'new_device'; atMs: number }
  // an envelope was just stored in this device's mailbox: a gateway holding the device
  // reads its mailbox again (closes the race between a store and a drain that had
  // already found the mailbox empty; relay/relay.ts, relay/session.ts)
  | { kind: 'mail' };

export interface DeviceSubscription {
  /** Stops receiving; idempotent. */
  close(): Promise<void>;
}

export interface MailboxItem {
  /** Opaque, increasing per device; pass to mailboxDelete. */
  seq: number;
  /** Encoded Envelope. */
  data: Uint8Array;
}

/** A mailbox that holds mail: whose it is, as the tokens it is stored under. */
export interface MailboxOwner {
  routeTag: string;
  deviceToken: string;
}

export interface DirectoryRecord {
  value: Uint8Array;   // encoded DirectoryEntry
  revision: number;    // for compare-and-set
}

export type BusStatus =
  /** Not connected yet: the first connection is being tried (gateway/bus-start.ts retries). */
  | { state: 'starting' }
  | { state: 'connected' }
  | { state: 'reconnecting'; since: number }
  /** Connected, but the deployment's streams contradict this gateway's settings (seen
   *  after a reconnect: e.g. re-created for another --mailbox-shards); not ready. */
  | { state: 'misconfigured' }
  | { state: 'closed' };

export interface MailboxLimits {
  /** Messages kept per device before MAILBOX_FULL (discard new). */
  maxMessagesPerDevice: number;
  /** Retention in ms (JetStream max_age). */
  maxAgeMs: number;
  /** Largest single envelope in bytes. */
  maxMessageBytes: number;
}

export interface DirectoryReadOptions {
  fromLeader?: boolean;
  /** The read of an authentication (relay/session.ts): on NATS it may use the request
   *  pool's reserve, which other requests cannot fill (relay/bus/nats-requests.ts). Only
   *  authentications set it: each connection has at most one in flight. */
  authentication?: boolean;
  /** A read whose answer tells whether a device is registered (a lookup, a send's check
   *  before it stores): made at the leader while the bus doubts its copy of the directory,
   *  as an authentication's is (NatsBus #directoryInDoubt: another gateway's beats found
   *  lost, and no read at the leader answered since). During a route cut the far node's
   *  replica still lists a device opted out meanwhile: such a read fails UNAVAILABLE
   *  instead of telling it registered. Without that doubt, the usual read. */
  leaderIfInDoubt?: boolean;
}

export interface Bus {
  readonly kind: 'embedded' | 'nats';
  /** Connects and creates streams/buckets it needs. Idempotent. */
  start(): Promise<void>;
  status(): BusStatus;
  /** How long the mailbox keeps mail now, in ms (Infinity: without a limit), which the
   *  challenge tells handsets (mailbox_max_age_s) so they keep replaced prekeys' secrets
   *  as long. The embedded bus: limits.maxAgeMs. NATS: the largest max_age of the mailbox
   *  streams as this bus last set them up (at start and after each reconnect): a stream
   *  keeps a higher value than this gateway's unless --mailbox-lower-limits; before the
   *  first look, limits.maxAgeMs. */
  mailboxMaxAgeMs(): number;
  /** Counter calls (counterGet/counterPut) that failed UNAVAILABLE since start ("rate-limit
   *  store unavailable"); absent where they cannot fail that way (the embedded bus). */
  counterStoreErrors?(): number;
  /** NATS: the JetStream request pool per class ('auth': authentications' directory
   *  reads; 'other': the rest), requests waiting for a reply and those refused for lack
   *  of room since start (relay/bus/nats-requests.ts); absent on the embedded bus. */
  requestPool?(): Record<'auth' | 'other', { pending: number; refused: number }>;
  /** NATS: how many times the connection to NATS was lost since start (a disconnect, a
   *  stale connection, a reconnect attempt); absent on the embedded bus, which never
   *  loses one. Periodic work that writes through the bus (relay/privacy/privacy.ts, the
   *  idle sweep) compares it before and after to know whether it ran through a loss. */
  connectionLosses?(): number;
  /** NATS: the forced reconnects this bus made since start to renew subscriptions a NATS
   *  server may have lost, by reason (relay/bus/nats-heal.ts); absent on the embedded bus. */
  subscriptionRenewals?(): Record<'probe' | 'timeouts', number>;
  /** NATS: resolves once the bus is no longer reconnecting (at once when it is not): at
   *  the reconnect, or at the close. Periodic work waiting for a reconnect
   *  (relay/privacy/privacy.ts) waits on it instead of looking at status() over and over;
   *  absent on the embedded bus, which never reconnects. */
  reconnected?(): Promise<void>;

  // ---- live delivery ----
  /** Live offers made through this bus that have no outcome yet (a gauge for
   *  operators: on NATS at most MAX_PENDING_LIVE, past which new offers count as not
   *  delivered and go to the mailbox). */
  livePending(): number;
  /** Receive live envelopes and control messages for one device. Resolves once the
   *  subscription is active at the bus: a deliverLive that starts after that reaches it
   *  (on a NATS cluster, once interest has spread over the routes: milliseconds), so
   *  subscribe first, then drain the mailbox. The bus does not signal mail stored while
   *  the device is subscribed (a deliverLive that timed out or was refused): the
   *  gateway that holds the device must drain again for that. After the bus lost and
   *  regained its connection to the store, every open subscription gets
   *  `{ kind: 'mail' }` (mail may have been stored meanwhile with nobody here to tell).
   *  Several subscriptions of one device on one bus: the newest open one gets live
   *  envelopes (if it closes, the next newest takes over); control messages go to every
   *  open one. At most 16 per device per bus: the oldest beyond that is dropped and
   *  gets `{ kind: 'kick', connection: '' }`. */
  subscribeDevice(
    routeTag: string,
    deviceToken: string,
    onEnvelope: LiveHandler,
    onControl: ControlHandler,
  ): Promise<DeviceSubscription>;
  /** Offers an envelope to the gateway holding the device. true = the device
   *  acknowledged it; false = nobody holds it, it refused, or `timeoutMs` passed
   *  (clamped to 1..60000). Envelopes over limits.maxMessageBytes throw TOO_LARGE. */
  deliverLive(routeTag: string, deviceToken: string, envelope: Uint8Array, timeoutMs: number): Promise<boolean>;
  /** deliverLive with a callback (the gateway's send path: no promise per envelope),
   *  the device named by a Recipient (relay/tokens.ts: its tag, token and joined key are
   *  made once per recipient, not per envelope). Bad arguments and a closed bus throw
   *  synchronously, as HushwireError; otherwise `done` is called exactly once with the
   *  outcome, never synchronously. */
  offerLive(to: Recipient, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void;
  /** Fire-and-forget to every open subscription of the device on every gateway,
   *  including the sender's own. `connection` must match [A-Za-z0-9_-]{0,64}
   *  (a random id, never an identifier), else BAD_REQUEST. `unregistered` is also
   *  announced to every gateway (after the device's message; NATS: one message on
   *  `<prefix>.unreg` whose payload is `<routeTag>.<deviceToken>`): each hands it to its
   *  subscriptions of the device as the device's own message would (so on NATS a
   *  subscription that stays open gets `unregistered` twice: take it as idempotent),
   *  remembers it for unregisteredSince, and tells its watchUnregistered listener. */
  publishControl(routeTag: string, deviceToken: string, msg: ControlMessage): Promise<void>;

  // ---- devices that left the directory (relay/bus/unregistered.ts) ----
  /** A mark for unregisteredSince: taken by an authentication before it reads the
   *  device's directory record. */
  unregisteredMark(): number;
  /** Once the device's subscription is confirmed: 'announced' if the device's
   *  `unregistered` announcement reached this bus since `mark` (it left the directory
   *  after the read began, and its device message may have gone out before the SUB);
   *  'none' if none did and none can have been missed; 'unknown' if one may have been
   *  missed (disconnected or reconnected since the mark, the mark older than
   *  UNREGISTERED_WINDOW_MS, more announcements meanwhile than the bus remembers): the
   *  caller then reads the record again. */
  unregisteredSince(routeTag: string, deviceToken: string, mark: number): UnregisteredVerdict;
  /** The gateway's one listener (a second replaces the first). */
  watchUnregistered(listener: UnregisteredListener): void;
  /** A device's removal from the directory is about to be made: announced to every
   *  gateway (NATS: one message on `<prefix>.unreg.intent`, payload
   *  `<routeTag>.<deviceToken>`, as the announcement's) and resolved once nats-server
   *  confirmed it (a PONG after it); UNAVAILABLE otherwise, and the caller then removes
   *  nothing. Changes nothing by itself: a gateway that hears no `unregistered` for the
   *  device within UNREGISTERING_TIMEOUT_MS reads the record for its sessions of it
   *  (UnregisteredListener.unconfirmed; relay/bus/unregistered.ts announcedRemoval). */
  announceUnregistering(routeTag: string, deviceToken: string): Promise<void>;

  // ---- mailbox (durable; acknowledged only when stored) ----
  /** Stores durably. `id` (the envelope id: 32 lowercase hex, else BAD_REQUEST)
   *  deduplicates a retried put for 2 minutes (or maxAgeMs if shorter), even if the
   *  first copy was already delivered and deleted. Ids are unique per bus, not per
   *  device. Throws HushwireError MAILBOX_FULL when the device's mailbox is at its
   *  limit (old mail is never dropped to make room), TOO_LARGE over
   *  limits.maxMessageBytes, UNAVAILABLE when the store cannot be reached. */
  mailboxPut(routeTag: string, deviceToken: string, id: string, envelope: Uint8Array): Promise<void>;
  /** Up to `max` (at most 1024) items with seq > afterSeq, oldest first. Seqs are
   *  global to the bus (gaps between one device's items are normal). Drain by passing
   *  the last seq returned as the next afterSeq: that is the fast path. */
  mailboxRead(routeTag: string, deviceToken: string, afterSeq: number, max: number): Promise<MailboxItem[]>;
  /** Removes one item (after the device acknowledged it). Idempotent; a seq that is
   *  not this device's is left alone. Calls may run concurrently (and should: on NATS
   *  each is one JetStream request). */
  mailboxDelete(routeTag: string, deviceToken: string, seq: number): Promise<void>;
  /** mailboxDelete for many items of one device (a drained page the device acked), as
   *  one call: on NATS the deletes go out pipelined, a bounded number in flight per bus.
   *  At most MAX_DELETE_BATCH seqs (else BAD_REQUEST); the same rules per seq as
   *  mailboxDelete. Resolves when every one is gone; if some failed it rejects
   *  (UNAVAILABLE) after the others settled, and those stay in the mailbox. */
  mailboxDeleteMany(routeTag: string, deviceToken: string, seqs: readonly number[]): Promise<void>;
  /** Erases a device's mailbox, or every device's of a route when deviceToken is omitted. */
  mailboxPurge(routeTag: string, deviceToken?: string): Promise<void>;
  /** Every mailbox holding mail (a snapshot, streamed, each owner once): for the sweep
   *  that erases mail left behind by devices no longer in the directory. */
  mailboxOwners(): AsyncIterable<MailboxOwner>;

  // ---- directory (public keys and device list, keyed by route tag) ----
  /** The entry, or null. With `fromLeader`, a replicated store answers from its leader
   *  rather than any replica: nats-server before 2.9.17 lets a replica that has not caught
   *  up answer a direct get with an old entry or none, so a device registered (or
   *  re-keyed) a moment ago elsewhere could be refused. Callers ask again this way only
   *  when the first answer refuses something; a single copy answers the same either way. */
  directoryGet(routeTag: string, opts?: DirectoryReadOptions): Promise<DirectoryRecord | null>;
  /** Compare-and-set: expectedRevision 0 = the key must not exist. Returns the new
   *  revision, or null on a revision conflict (the caller re-reads and retries).
   *  Values over 64 KiB throw TOO_LARGE.
   *  Throws HushwireError UNAVAILABLE when the store cannot be reached. */
  directoryPut(routeTag: string, value: Uint8Array, expectedRevision: number): Promise<number | null>;
  /** Erases the entry entirely (no tombstone carrying data remains). With
   *  `expectedRevision`, only if the entry is still at that revision: resolves false (and
   *  erases nothing) when another writer changed it since, or it is gone; the caller
   *  re-reads. Without it, whatever the entry holds now goes (resolves true). */
  directoryDelete(routeTag: string, expectedRevision?: number): Promise<boolean>;
  /** Every route tag in the directory (a snapshot, streamed; used by the idle-device
   *  sweep in relay/privacy/privacy.ts). */
  directoryKeys(): AsyncIterable<string>;

  // ---- rate-limit counters (relay/bus/counters.ts; shared by every gateway) ----
  /** Key `<kind>.<32 hex>` (a route tag or device token, never a number), else BAD_TOKEN.
   *  Records vanish by themselves COUNTER_TTL_MS after their last write and are never
   *  written to disk (KV bucket on memory storage in NATS mode). */
  counterGet(key: string): Promise<DirectoryRecord | null>;
  /** Compare-and-set like directoryPut; values over 256 bytes throw TOO_LARGE. */
  counterPut(key: string, value: Uint8Array, expectedRevision: number): Promise<number | null>;

  /** Closes connections and subscriptions; idempotent. Live offers still waiting for
   *  their outcome get false (not delivered) by the time it resolves, and nothing of
   *  theirs stays scheduled. */
  close(): Promise<void>;
}
