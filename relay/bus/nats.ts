// NatsBus: the scale-out bus on NATS core subjects + JetStream (nats-server 2.9+).
//
//   live     core request/reply on <prefix>.dev.<routeTag>.<deviceToken>
//            the first delivery to a device locates it: the holder answers [1, its node id]
//            (0 refused); later ones go in per-node batches on <prefix>.gw.<node>, answered
//            per turn (relay/bus/nats-live.ts); "no responders" / timeout => false
//   control  core publish (no reply subject) on the same <prefix>.dev.<routeTag>.<deviceToken>,
//            small JSON: one NATS subscription per held device carries both
//   mailbox  mailboxShards streams (default 16) HW_MBOX_<s>, subjects
//            <prefix>.mbox.<s>.<routeTag>.<deviceToken>, s = a route's shard (from the first
//            hex digits of its route tag); with 1 shard the single stream HW_MBOX, subjects
//            <prefix>.mbox.<routeTag>.<deviceToken> (the layout before shards). File
//            storage, max_age, max_msgs_per_subject + discard new per subject
//            (MAILBOX_FULL), Nats-Msg-Id = HMAC of the envelope id (2 min duplicate
//            window; nats-privacy.ts)
//   directory KV bucket hw_dir (history 2: the previous revision is erased right after
//            each update), key = routeTag, CAS by revision
//   counters KV bucket hw_rl, memory storage, max_age = counterTtlMs (rate limits)
//
// Only 32-hex tokens (checked by assertToken) ever reach a subject; only the keyed
// msg id and the stream name reach a header. Deletes erase (overwrite) the bytes on
// disk: see relay/bus/nats-privacy.ts.
//
// Why shards: nats-server 2.9 reads a filtered consumer by scanning the stream's blocks
// from the device's first message, past every other device's messages stored in
// between, and an erasing delete of a subject's first message scans forward the same
// way. With every device in one stream a drain cost nats-server ~22 us per message with
// 100 devices' mail interleaved (5 us when not interleaved); 16 streams cut it to 5-7 us
// and the erase from 214 to 155 us (docs/BENCHMARKS.md). Seqs are per stream; a device
// lives in exactly one, so a device's seqs stay one ordered sequence.
//
// mailboxRead uses ephemeral, in-memory, ack-none pull consumers filtered to the device
// subject. The consumer of the last read of a device is kept (bounded LRU) so that the
// drain loop's next read (afterSeq = last seq returned) is a single pull request.
// Acknowledged items are erased by mailboxDeleteMany: one erasing STREAM.MSG.DELETE per
// seq (2.9 has no batch form), pipelined through relay/bus/nats-requests.ts with a
// bounded bus-wide window (ERASE_WINDOW) so that reads are not queued behind them.
import { readAckReply, ackStreamIs, newAckFields } from './js-ack.ts';
import {
  createInbox, MsgHdrsImpl, nanos, type Msg, type NatsConnection, type Subscription,
} from '@nats-io/transport-node';
import {
  jetstream, jetstreamManager, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType,
  type JetStreamClient, type JetStreamManager, type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type {
  Bus, BusStatus, ControlHandler, ControlMessage, DeviceSubscription, DirectoryReadOptions, DirectoryRecord, LiveHandler, MailboxItem, MailboxOwner, MailboxLimits,
  UnregisteredListener, UnregisteredVerdict,
} from './bus.ts';
import { hearUnregistered, RecentUnregistrations, tellUnconfirmed, UNREGISTERED_SETTLE_MS } from './unregistered.ts';
import { PeerBeats } from './peer-beats.ts';
import { ErrorCode, HushwireError } from '../errors.ts';
import { LiveRouter } from './nats-live.ts';
import { assertToken, isToken, type Recipient } from '../tokens.ts';
import {
  busUnavailable, checkControl, checkDirectoryValue, checkEnvelope, checkEnvelopeId, checkHandlers, checkLimits,
  checkDeleteRevision, checkMax, checkRevision, checkSeq, checkSeqs, checkRecipient, checkTimeout, decodeControl, DEDUP_WINDOW_MS, dedupWindowMs, DIRECTORY_MAX_VALUE_BYTES,
  encodeControl, noopLog, SubscriptionRegistry, WriteOutcomeUnknown, type BusLogFn, type DeviceEntry, type DeviceTransport,
} from './common.ts';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCounterKey, checkCounterTtl, checkCounterValue, COUNTER_TTL_MS } from './counters.ts';
import { natsLayout } from './nats-layout.ts';
import { eraseSeq, eraseSubject, kvCounterGet, kvCounterPut, kvCreate, natsMsgId, openCounterBucket } from './nats-privacy.ts';
import { onceMoreIfLate, timedOutError, withLateTimeout } from './late-timer.ts';
import { ApiRequests, checkRequestPool, PROBE_TOKEN, REQUEST_CLASSES, type RequestClass } from './nats-requests.ts';
import { DEFAULT_SELF_HEAL, InterestHealer, type RenewalReason, type SelfHealPolicy } from './nats-heal.ts';
import { drainSubscriptions } from './sub-drain.ts';
import { FailureEpisodes } from './failure-episodes.ts';
import { BusMisconfigured, connectFailed, refusedConfig, setupFailed } from './setup-errors.ts';
import { connectNats, natsRefusal, statusServer } from '../nats-connect.ts';
import { RepeatedLog } from '../log.ts';
import { readNatsAccess, type NatsAccess } from '../nats-connect-options.ts';
import { describeViolation, permissionRefusal, permissionViolation, PermissionWatch, probePermissions, subjectShape, type PermissionViolation } from '../nats-permissions.ts';

export interface NatsBusOptions {
  /** nats://host:port URL(s). */
  servers: string | string[];
  /** Servers, TLS and credentials as read from the settings (relay/nats-connect-options.ts);
   *  default: from `servers` alone (credentials in a URL, TLS required by tls://). */
  access?: NatsAccess;
  limits: MailboxLimits;
  /** Subject prefix (default 'hw'): [a-z][a-z0-9_-]{0,31}. Also names the stream and bucket. */
  prefix?: string;
  /** Mailbox stream name (default HW_MBOX, or <PREFIX>_MBOX for another prefix); with
   *  more than one shard, the streams are <name>_0 .. <name>_<shards-1>. */
  streamName?: string;
  /** Mailbox streams (default DEFAULT_MAILBOX_SHARDS). Every gateway of a deployment must
   *  use the same number: start-up refuses a mailbox laid out for another one. */
  mailboxShards?: number;
  /** Directory KV bucket (default hw_dir, or <prefix>_dir). */
  bucket?: string;
  /** Connection name shown by the server. */
  name?: string;
  /** Stream and bucket replicas (default 1; 3 on a 3-node cluster). */
  replicas?: number;
  /** Initial connect deadline, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Deadline for JetStream requests, ms (default 5000). */
  requestTimeoutMs?: number;
  /** Base wait between reconnect attempts, ms (default 1000; plus up to as much jitter). */
  reconnectWaitMs?: number;
  /** How often a misconfigured bus looks at the streams again, ms (default 30 s). */
  misconfiguredRecheckMs?: number;
  log?: BusLogFn;
  /** Lifetime of a rate-limit counter after its last write (default COUNTER_TTL_MS). */
  counterTtlMs?: number;
  /** Key of the Nats-Msg-Id HMAC, shared by all gateways (default: random per process). */
  msgIdKey?: Uint8Array;
  /** Apply `limits` to existing mailbox streams also where they are lower than the
   *  streams' (--mailbox-lower-limits). Off: a stream's larger retention limits are kept,
   *  since they are deployment-wide and lowering them drops or refuses other gateways' mail. */
  lowerLimits?: boolean;
  /** Prefix of this bus's reply subjects (nats.js `inboxPrefix`, default `_INBOX`): with
   *  one per role the NATS users can be kept from reading each other's replies
   *  (--nats-inbox-prefix; docs/OPERATIONS.md, "NATS permissions"). */
  inboxPrefix?: string;
  /** The JetStream request pool's size and the part of it only authentications' directory
   *  reads may use (default MAX_PENDING and AUTH_RESERVE in relay/bus/nats-requests.ts);
   *  tests make them small. */
  requestPool?: { maxPending: number; authReserve: number };
  /** How long a mailbox reader (a server-side consumer) is kept for the device's next
   *  page after its last use, ms (default 20 s); tests make it short. */
  readerIdleMs?: number;
  /** How long a lost connection is waited for before what needs NATS fails at once, ms
   *  (default OUTAGE_GRACE_MS); tests make it long. */
  outageGraceMs?: number;
  /** The devices announced unregistered (tests: a smaller bound, a clock of their own). */
  unregistered?: RecentUnregistrations;
  /** When the bus renews subscriptions a NATS server may have lost (DEFAULT_SELF_HEAL,
   *  relay/bus/nats-heal.ts); tests make it quick. */
  selfHeal?: Partial<SelfHealPolicy>;
}

export { DEFAULT_MAILBOX_SHARDS, MAX_MAILBOX_SHARDS } from './nats-layout.ts';
/** Written into each shard stream's description, checked at start-up. */
const shardDescription = (i: number, n: number): string => `hushwire mailbox shard ${i} of ${n}`;
const SHARD_DESCRIPTION_RE = /^hushwire mailbox shard (\d+) of (\d+)$/;
/** Room for the Nats-Msg-Id / Nats-Expected-Stream headers within max_msg_size. */
const HEADER_ALLOWANCE = 512;
/** Read cursors (server-side consumers) kept for the next read of the same device. */
const CURSOR_CACHE_MAX = 1024;
/** A cached consumer is reused only if used within this long (readerIdleMs); one unused
 *  that long is deleted by the reader sweep, which runs every half of it... */
const CURSOR_REUSE_MS = 20_000;
/** ...and the server deletes it after this much inactivity: the bound only for readers
 *  a gateway could not delete (killed, or closed while NATS was unreachable). */
const CONSUMER_INACTIVE_MS = 60_000;
/** Readers whose delete is still to be sent or answered (a lost connection, a create
 *  whose answer never came, a delete that failed): beyond this the oldest is left to
 *  the server's inactivity threshold. */
const ORPHAN_READERS_MAX = 8192;
/** Stream seq → mailbox subject of messages this bus handed out (saves a get per delete). */
const SEQ_OWNER_MAX = 65_536;
const CLOSE_DRAIN_MS = 5_000;
/** mailboxOwners: the share of a page of subjects asked for again with the next page
 *  (subjects that vanish in between shift the next page up by as many). */
const OWNERS_OVERLAP = 1 / 8;
/** Re-creating stores after a reconnect: attempts, and the gap between them. */
const RESTORE_ATTEMPTS = 10;
const RESTORE_EVERY_MS = 1_000;
/** How long a lost NATS connection is waited for before the operations that need NATS
 *  fail UNAVAILABLE at once (#reachable, #viaNats) instead of each waiting out its
 *  deadline (the request timeout, 5 s): a registration's steps then outlasted the auth
 *  deadline (10 s) and the handset was closed 4001 "auth timeout" after 10 s, with no
 *  word of NATS. Within the grace nats.js's first attempts run (at once, then after
 *  reconnectWaitMs plus jitter: 1-2 s), so a dropped connection that comes back at once
 *  fails nothing that would have worked a moment later. */
export const OUTAGE_GRACE_MS = 2_000;
/** 'bus: directory reads failing' at most this often. */
const FAILURE_LINE_EVERY_MS = 60_000;
/** Control publishes held for the end of a turn; beyond this they go out at once. (The
 *  turn's SUB and UNSUB lists need no cap: each session adds at most one entry a turn.) */
const MAX_TURN_PUBS = 8192;
/** `unregistered` messages this bus keeps to publish again after a reconnect until a PONG
 *  confirms them (NatsBus.#unconfirmed): opt-outs and expiries of one outage. */
const MAX_UNCONFIRMED_UNREGISTERED = 4096;
/** Kicks this bus keeps to publish again after a reconnect until a PONG confirms them
 *  (NatsBus.#unconfirmedKicks): the authentications of one outage. The oldest beyond
 *  this is not published again: its device may keep an older connection elsewhere
 *  until either disconnects. */
const MAX_UNCONFIRMED_KICKS = 4096;
/** mailboxRead calls in flight at once; beyond this they fail UNAVAILABLE. */
const MAX_READS_IN_FLIGHT = 4096;
/** Erasing deletes in flight at once, bus-wide. nats-server 2.9 answers one
 *  connection's JetStream API requests in order, and each erase holds the stream's lock
 *  through an fsync (relay/bus/nats-privacy.ts): a small window lets the reads of other
 *  drains (direct gets, consumer creates, pulls) in between instead of queuing them
 *  behind a whole page of erases. */
const ERASE_WINDOW = 32;
/** The window is refilled when this many or fewer are left in flight, so a refill is one
 *  write to nats-server carrying many erases instead of one write per reply (erases are
 *  answered one by one, each after its fsync). */
const ERASE_REFILL_AT = ERASE_WINDOW / 2;
/** Seqs waiting for the erase window; a mailboxDeleteMany beyond this fails UNAVAILABLE
 *  at once (its items stay in the mailbox, to be delivered again and deleted later). */
const ERASE_QUEUE_MAX = 262_144;
/** After a reconnect every subscribed device is told to read its mailbox again, this many
 *  per slice, one slice every RECONNECT_MAIL_EVERY_MS (10,000 devices: ~2 s), so that
 *  their reads do not all hit MAX_READS_IN_FLIGHT at once. */
const RECONNECT_MAIL_SLICE = 256;
const RECONNECT_MAIL_EVERY_MS = 50;
/** Attempts to create a mailbox stream whose subjects overlap another stream's before
 *  that is taken for a layout mismatch (a concurrent creation of the same stream ends). */
const OVERLAP_ATTEMPTS = 5;
/** While the deployment's streams contradict this bus's settings after a reconnect
 *  (BusMisconfigured), they are checked again this often. */
const MISCONFIGURED_RECHECK_MS = 30_000;
/** Mailbox streams set up (looked at, created or updated) at once at start. */
const STREAM_SETUP_CONCURRENCY = 8;
/** The start-up probe of the right to erase: sequence 0, which no message has (they
 *  start at 1), answered "no message found" (10057) at once when the right is there.
 *  Not a sequence past the stream's last: a replicated stream (R3, nats-server 2.9)
 *  never answers a delete of one (the leader proposes it, and applying it replies
 *  nothing), so every gateway start on a cluster waited out the request timeout. */
const PROBE_DELETE = '{"seq":0,"no_erase":true}';
/** The retention limits of a mailbox stream that #ensureStream never lowers by itself: a
 *  lower value drops stored mail (max_age, max_msgs_per_subject) or refuses what other
 *  gateways store (max_msg_size). Each with the setting it comes from, and the setting's
 *  value for a stream value (0 or less on a stream = unlimited). max_bytes and max_msgs
 *  are not set by the bus: a stream keeps whatever it has. */
const RETENTION_LIMITS = [
  { field: 'max_age', setting: '--mailbox-max-age-s', inSetting: (v: number) => Math.floor(v / 1e9) },
  { field: 'max_msgs_per_subject', setting: '--mailbox-max-messages', inSetting: (v: number) => v },
  { field: 'max_msg_size', setting: '--max-envelope-bytes', inSetting: (v: number) => v - HEADER_ALLOWANCE },
] as const;
/** The fields of a mailbox stream config compared to tell whether an update would change it. */
const COMPARED_FIELDS = [
  'description', 'subjects', 'retention', 'storage', 'num_replicas', 'max_age', 'max_msgs_per_subject',
  'discard', 'discard_new_per_subject', 'max_msg_size', 'duplicate_window', 'allow_direct',
] as const;
const ERASE_OK = '"success":true';
// Already gone: 10057 "no message found" (no such sequence, or past the last on a
// single server), 10043 "sequence N not found" (a sequence deleted before: by another
// gateway's erase, a sweep, the stream's age limit).
const ERASE_GONE = '"err_code":10057';
const ERASE_GONE_BEFORE = '"err_code":10043';

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();
const td = new TextDecoder();
/** An announcement's payload (`<prefix>.unreg`): `<routeTag>.<deviceToken>`, 32 + 1 + 32. */
const UNREG_KEY_BYTES = 65;
const UNREG_KEY_RE = /^[0-9a-f]{32}\.[0-9a-f]{32}$/;

/** What one pass over the mailbox streams found about their limits (#ensureStores). */
interface LimitsPass {
  /** By setting: the largest stream value above this gateway's, in the setting's unit. */
  higher: Map<string, { stream: number | 'unlimited'; configured: number }>;
  /** Streams whose configuration was updated. */
  updated: number;
  /** Largest max_msgs_per_subject the streams have (Infinity: unlimited). */
  perDevice: number;
  /** Most replicas a stream kept above --nats-replicas (0: none). */
  replicasKept: number;
  /** Fewest replicas a stream kept below --nats-replicas (0: none). */
  replicasBelow: number;
  /** Largest max_age the streams have after the pass, in ms (Infinity: a stream without
   *  one; 0: no stream looked at). */
  maxAgeMs: number;
}

interface Cursor {
  /** Index of the mailbox stream (shard) the device's mail is in. */
  shard: number;
  subject: string;
  name: string;
  /** afterSeq this consumer is positioned at (last stream seq it delivered). */
  position: number;
  /** Messages the server said were still pending after that (0 = ask again). */
  pending: number;
  usedAt: number;
  busy: boolean;
  /** Not cached: delete after its read. */
  oneShot: boolean;
}

/** One mailboxDeleteMany call waiting for its erases. */
interface EraseBatch {
  /** The erase API subject of the device's shard stream. */
  api: string;
  seqs: number[];
  /** Index of the next seq to send. */
  next: number;
  /** Seqs sent or not yet sent whose reply is outstanding. */
  left: number;
  error: Error | null;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Pull {
  cursor: Cursor;
  want: number;
  items: MailboxItem[];
  /** Pending count carried by the last message received. */
  pending: number;
  token: string;
  timer: NodeJS.Timeout;
  resolve: (items: MailboxItem[]) => void;
  reject: (e: unknown) => void;
}

/** A device subscription whose SUB waits for the turn's batch. */
/** One device's NATS subscription, subscribed with the next turn's batch. It keeps no
 *  closure: every device subscription of a bus shares that bus's message callback
 *  (which finds the device by the message's subject), and releasing is a method. */
class PendingSub implements DeviceTransport {
  readonly key: string;
  sub: Subscription | null = null;
  /** Released (every subscription of the device closed) before its turn: never subscribed. */
  cancelled = false;
  readonly #unsubscribe: (sub: Subscription) => void;
  constructor(key: string, unsubscribe: (sub: Subscription) => void) {
    this.key = key;
    this.#unsubscribe = unsubscribe;
  }
  release(): Promise<void> {
    this.cancelled = true;
    const sub = this.sub;
    this.sub = null;
    if (sub !== null) this.#unsubscribe(sub); // else not subscribed yet: its turn skips it
    return Promise.resolve();
  }
}

/** What NatsBus sends to nats-server at the end of an event-loop turn. */
interface Turn {
  nc: NatsConnection;
  /** Control messages (kick, mail, notice, unregistered). */
  pubs: Array<{ subject: string; data: Uint8Array }>;
  subs: PendingSub[];
  unsubs: Subscription[];
  /** Set when a subscribeDevice waits for the PING that follows the SUBs. */
  done: Promise<boolean> | null;
  resolve: ((ok: boolean) => void) | null;
}

/** Two stream config values alike (subject lists by their items). */
function sameValue(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.join('\0') === b.join('\0') : a === b;
}

/** true if p settles successfully within ms. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(() => true, () => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error member of a JetStream API answer. */
interface JsApiError {
  error?: { code: number; err_code?: number; description?: string };
}

/** A consumer delete's answer says the reader is gone: deleted now, or not there (10014
 *  consumer not found, 10059 stream not found). */
function readerGone(data: Uint8Array): boolean {
  const text = td.decode(data);
  return text.includes('"success":true') || text.includes('"err_code":10014') || text.includes('"err_code":10059');
}

function jsErrCode(e: unknown): number {
  return e instanceof JetStreamApiError ? e.code : 0;
}

/** Creates a bucket that another gateway may be creating at the same moment: nats-server
 *  then answers "subjects overlap" (10065) until that stream exists, and a new attempt
 *  binds to it (seen as a flaky concurrent start in test/bus/nats.test.ts). The wait
 *  between attempts ends when `closed` aborts (close(), which waits for a start under
 *  way): the AbortError is thrown. */
async function createRacing<T>(create: () => Promise<T>, closed: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (e) {
      if (jsErrCode(e) !== 10065 || attempt >= 5) throw e;
      await sleep(50 * attempt, undefined, { signal: closed });
    }
  }
}

/** Why a directory read failed, for a log line: a fixed word, or the error's name. */
function failureReason(e: unknown): string {
  const inner = e instanceof HushwireError && e.cause !== undefined ? e.cause : e;
  const name = inner instanceof Error ? inner.name : 'error';
  const message = inner instanceof Error ? inner.message : '';
  if (name === 'TimeoutError' || (inner instanceof HushwireError && /timed out/.test(message))) return 'timeout';
  if (name === 'NoRespondersError' || /^direct get: status 503$/.test(message) || /no responders/i.test(message)) return 'no responders';
  const status = /^direct get: status (\d+)$/.exec(message);
  return status !== null ? `status ${status[1]}` : name;
}

/** What an operation that needs NATS fails with while the connection is lost (past
 *  OUTAGE_GRACE_MS): UNAVAILABLE, retry_after_ms 1000 as busUnavailable's. Says why,
 *  naming no server. Its own class, so that the callers' catches that wrap what NATS
 *  throws ('directory unavailable', ...) pass it on as it is. */
class NatsLost extends HushwireError {}
function natsLost(): NatsLost {
  return new NatsLost(ErrorCode.UNAVAILABLE, 'NATS connection lost; this gateway is reconnecting', { retryAfterMs: 1000 });
}
/** natsLost() for a compare-and-set write in flight at the loss (#viaNats): the same
 *  error to a handset, and callers that can read again to find out whether it landed
 *  tell it apart (common.ts WriteOutcomeUnknown). */
function writeLost(): WriteOutcomeUnknown {
  return new WriteOutcomeUnknown(ErrorCode.UNAVAILABLE, 'NATS connection lost; this gateway is reconnecting', { retryAfterMs: 1000 });
}

/** A lost connection as #beginOutage tracks it (see #outage). */
interface Outage {
  down: Promise<never>;
  up: Promise<void>;
  reconnected: () => void;
  failing: boolean;
  timer: NodeJS.Timeout;
}

/** What the requests in flight through #viaNats are failed with when the connection
 *  drops (never seen outside: #viaNats repeats the request or throws NatsLost). */
const DROPPED = new Error('lost with the NATS connection');

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A directory record read by direct get. Its revision (the reply's Nats-Sequence
 *  header) is parsed on first use: an authentication reads only the value, and nats.js's
 *  header parser was the largest share of a reconnect's garbage on the gateway
 *  (docs/BENCHMARKS.md). Only compare-and-set writers ask for the revision. */
class DirectGetRecord implements DirectoryRecord {
  readonly value: Uint8Array;
  #msg: Msg | null;
  #revision = 0;

  constructor(m: Msg) {
    this.value = m.data;
    this.#msg = m;
  }

  get revision(): number {
    if (this.#msg !== null) {
      const revision = Number(this.#msg.headers?.get('Nats-Sequence'));
      if (!Number.isSafeInteger(revision) || revision <= 0) throw busUnavailable('directory unavailable', new Error('direct get without a sequence'));
      this.#revision = revision;
      this.#msg = null;
    }
    return this.#revision;
  }
}

/** `key` set to `value` as the newest entry of `m` (a Map keeps insertion order); past
 *  `max` entries the oldest goes. True when one went (the caller says so, once). The
 *  messages kept for publishing again after a reconnect (unregistered, kicks). */
function setNewest<K, V>(m: Map<K, V>, key: K, value: V, max: number): boolean {
  m.delete(key);
  m.set(key, value);
  if (m.size <= max) return false;
  for (const k of m.keys()) {
    m.delete(k);
    break;
  }
  return true;
}

export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly #opts: NatsBusOptions;
  /** What connect() gets: servers without credentials, TLS, authenticator. */
  readonly #access: NatsAccess;
  readonly #limits: MailboxLimits;
  /** Mailbox stream per shard. */
  readonly #streams: string[];
  readonly #bucket: string;
  readonly #replicas: number;
  readonly #recheckMs: number;
  /** The mailbox streams have more than one replica: empty-mailbox checks go to the leader. */
  #mailboxReplicated = false;
  readonly #requestTimeoutMs: number;
  readonly #pullExpiresNs: number;
  readonly #log: BusLogFn;
  readonly #devPrefix: string;
  /** `<prefix>.mbox.` and, with shards, `<prefix>.mbox.<s>.`, per shard. */
  readonly #mboxRoot: string;
  readonly #mboxPrefixes: string[];
  readonly #subs: SubscriptionRegistry;
  /** `<prefix>.unreg` (nats-layout.ts): every gateway's announcements of devices that
   *  left the directory, and what this bus heard of them (relay/bus/unregistered.ts). */
  readonly #unregSubject: string;
  /** `<prefix>.unreg.intent`: removals about to be made (announceUnregistering). */
  readonly #unregIntentSubject: string;
  /** `<prefix>.unreg.beat`, and the beats heard there (relay/bus/peer-beats.ts). */
  readonly #unregBeatSubject: string;
  readonly #beats = new PeerBeats(() => this.#unregistered.mark(), (lostAt) => this.#beatsLost(lostAt));
  readonly #unregistered: RecentUnregistrations;
  #unregisteredListener: UnregisteredListener | null = null;
  /** When this bus found its connection lost (the clock of unregisteredMark), for the
   *  listener's gap() at the reconnect; null while connected. */
  #lostAt: number | null = null;
  /** Losses of the connection seen, counted for #unconfirmed. */
  #losses = 0;
  /** Devices whose `unregistered` (device message and announcement) this bus published
   *  and has no PONG after yet, with #losses then: nats.js drops what was written
   *  while, or just before, the connection was lost, so these are published again at
   *  the reconnect (#listenAgain). At most MAX_UNCONFIRMED_UNREGISTERED, oldest first. */
  readonly #unconfirmed = new Map<string, number>();
  /** The same for kicks (a connection taking its device over): device key -> the
   *  kicking connection's id and #losses then. Published again after the reconnect only
   *  while that connection is still the device's newest here, marked `again`
   *  (#publishUnconfirmed). At most MAX_UNCONFIRMED_KICKS, oldest first. */
  readonly #unconfirmedKicks = new Map<string, { connection: string; losses: number }>();

  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #jsm: JetStreamManager | null = null;
  #kv: KV | null = null;
  /** The restore pass running now (#restoreStores), or null. */
  #restoring: Promise<void> | null = null;
  /** Aborted by close(): wakes the restore pass from its wait between attempts. */
  readonly #closeSignal = new AbortController();
  #lastRestore = 0;
  /** Set while the deployment's streams contradict this bus's settings after a
   *  reconnect (the bus reports 'misconfigured' until a later check passes). */
  #misconfigured: BusMisconfigured | null = null;
  #recheck: NodeJS.Timeout | null = null;
  readonly #lowerLimits: boolean;
  /** Limit warnings already logged (one per distinct finding, not one per reconnect). */
  readonly #limitWarnings = new Set<string>();
  /** Messages one device's mailbox can hold, as the streams have it (it may exceed
   *  limits.maxMessagesPerDevice when the streams keep a larger limit). */
  #perDeviceCap = 0;
  /** The mailbox retention as the streams have it (mailboxMaxAgeMs), in ms. */
  #maxAgeMs = 0;
  #counters: KV | null = null;
  /** Counter calls that failed (rate-limit store unavailable), since start. */
  #counterErrors = 0;
  /** The last counter call failed: the next that succeeds logs the recovery. */
  #counterFailing = false;
  /** Directory reads, and mailbox stores, failing while connected: one line when it
   *  starts (at most once a minute), one when it ends (failure-episodes.ts). */
  readonly #directoryEpisodes: FailureEpisodes;
  readonly #storeEpisodes: FailureEpisodes;
  /** The restore-pass problem logged last (logged again only when it changes). */
  #restoreProblem = '';
  readonly #counterTtlMs: number;
  readonly #counterBucket: string;
  readonly #msgIdKey: Uint8Array;
  #starting: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  #ready = false;
  #status: BusStatus = { state: 'starting' };
  /** The NATS connection is lost: `down` rejects (UNAVAILABLE) once it has been lost for
   *  OUTAGE_GRACE_MS, and `failing` is then set; `up` resolves at the reconnect (or the
   *  close); null while connected (#beginOutage). */
  #outage: Outage | null = null;
  /** Losses of the connection seen (#onDrop): a request made before one and failed after
   *  it was lost with the connection (#viaNats). */
  #drops = 0;
  /** The rejects of the requests in flight through #viaNats (nats.js requests, which
   *  nats.js itself leaves waiting for their timeout when the connection drops). */
  readonly #inFlight = new Set<(e: unknown) => void>();

  /** Live delivery: locate on device subjects, then batches per node (nats-live.ts). */
  #live: LiveRouter | null = null;
  /** Directory reads by direct get (false when the bucket does not allow them). */
  #directoryDirect = false;
  #directoryReplicated = false;
  /** When the last read at the directory's leader that got an answer was sent (the
   *  clock of unregisteredMark): see #directoryInDoubt. */
  #leaderAnsweredFrom = Number.NEGATIVE_INFINITY;
  /** SUBs, UNSUBs and the PING of this event-loop turn (#turnFlush). */
  #turn: Turn | null = null;
  readonly #inboxPrefix: string;
  /** Permission violations already logged, by operation and subject shape. */
  readonly #deniedLogged = new Set<string>();
  /** #malformedControl's line: at most one per 10 s, with a count (relay/log.ts). */
  readonly #repeated: RepeatedLog;

  // mailbox reads
  #readInbox = '';
  readonly #cursors = new Map<string, Cursor>();             // subject → cursor (LRU order)
  readonly #pullsByConsumer = new Map<string, Pull>();        // consumer name → pull in flight
  readonly #pullsByToken = new Map<string, Pull>();           // inbox token → pull in flight
  readonly #ack = newAckFields();                             // the last read message's ack reply fields
  #pullSeq = 0;
  #readsInFlight = 0;
  /** Mailbox readers (consumers) are named here, not by the server, so that one whose
   *  create was not answered can still be deleted: this bus's prefix, then a counter. */
  readonly #readerPrefix = `hwr${randomBytes(6).toString('hex')}_`;
  #readerSeq = 0;
  /** Readers asked for whose create has not been answered yet, name → shard. */
  readonly #creating = new Map<string, number>();
  /** Readers to delete whose delete is not under way (see ORPHAN_READERS_MAX), name →
   *  shard: sent again after a reconnect, at each reader sweep and at close. */
  readonly #orphanReaders = new Map<string, number>();
  readonly #readerIdleMs: number;
  readonly #outageGraceMs: number;
  /** The reader sweep (idle cached readers, orphans); runs while there are any. */
  #readerTimer: NodeJS.Timeout | null = null;
  readonly #seqOwner: Map<number, string>[];                  // per shard: stream seq → subject (bounded)
  readonly #seqOwnerMax: number;

  // mailbox deletes and other JetStream API calls of the mailbox path
  #api: ApiRequests | null = null;
  /** Refusals of the request pools of earlier connection attempts (requestPool()). */
  readonly #refusedBefore: Record<RequestClass, number> = { auth: 0, other: 0 };
  readonly #eraseQueue: EraseBatch[] = [];                     // FIFO; head is being sent
  /** Erases that were in flight when the connection dropped, sent again (once) before
   *  the queue once reconnected (#pumpErasesNow). */
  #eraseAgain: { b: EraseBatch; seq: number }[] = [];
  #eraseQueued = 0;                                           // seqs in #eraseQueue and #eraseAgain not yet sent
  #erasesInFlight = 0;
  #pumping = false;
  #eraseSubjects: string[] = [];

  // self-healing of lost subscriptions (relay/bus/nats-heal.ts)
  readonly #healer: InterestHealer;
  readonly #probeEveryMs: number;
  #probeTimer: NodeJS.Timeout | null = null;
  #probing = false;
  /** This bus's own probe subject among the device subjects: route tag all zeros (no
   *  route has it), then a random token of this process. Carries no device. */
  readonly #probeDevice: string;
  /** Probes received on it, and on the mailbox-read inbox (PROBE_TOKEN). */
  #devProbes = 0;
  #readProbes = 0;
  /** Forced reconnects by reason (hushwire_bus_renewals_total). */
  readonly #renewals: Record<RenewalReason, number> = { probe: 0, timeouts: 0 };

  constructor(opts: NatsBusOptions) {
    this.#limits = checkLimits(opts.limits);
    // The same layout `hushwire nats-permissions` describes (relay/nats-permissions-config.ts).
    const layout = natsLayout(opts);
    const shards = layout.streams.length;
    this.#streams = layout.streams;
    this.#bucket = layout.bucket;
    this.#mboxRoot = layout.mboxRoot;
    this.#mboxPrefixes = layout.mboxPrefixes;
    this.#unregSubject = layout.unregSubject;
    this.#unregIntentSubject = layout.unregIntentSubject;
    this.#unregBeatSubject = layout.unregBeatSubject;
    this.#unregistered = opts.unregistered ?? new RecentUnregistrations();
    this.#unregistered.onDue((keys) => tellUnconfirmed(this.#unregisteredListener, keys, this.#log));
    this.#seqOwner = this.#streams.map(() => new Map<number, string>());
    this.#seqOwnerMax = Math.max(4096, Math.ceil(SEQ_OWNER_MAX / shards));
    this.#replicas = opts.replicas ?? 1;
    this.#recheckMs = opts.misconfiguredRecheckMs ?? MISCONFIGURED_RECHECK_MS;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.#pullExpiresNs = Math.max(100, Math.min(1000, Math.floor(this.#requestTimeoutMs / 2))) * 1_000_000;
    this.#log = opts.log ?? noopLog;
    const log = this.#log;
    this.#repeated = new RepeatedLog((msg, fields) => log('warn', msg, fields));
    this.#directoryEpisodes = new FailureEpisodes(this.#log,
      (why) => `bus: directory reads failing (${why}): authentications, registrations and discoveries fail UNAVAILABLE until they work again`,
      'bus: directory reads work again', FAILURE_LINE_EVERY_MS);
    this.#storeEpisodes = new FailureEpisodes(this.#log,
      (why) => `bus: mailbox stores failing (${why}): messages to offline devices fail UNAVAILABLE until they work again`,
      'bus: mailbox stores work again', FAILURE_LINE_EVERY_MS);
    this.#devPrefix = layout.devPrefix;
    this.#probeDevice = `${layout.devPrefix}${'0'.repeat(32)}.${randomBytes(16).toString('hex')}`;
    const heal = { ...DEFAULT_SELF_HEAL, ...opts.selfHeal };
    this.#probeEveryMs = heal.probeEveryMs;
    this.#healer = new InterestHealer({
      policy: heal,
      link: {
        up: () => this.#ready && !this.#closed && this.#status.state === 'connected' && this.#outage === null,
        losses: () => this.#losses,
        renew: (reason, why, nextInS) => this.#renew(reason, why, nextInS),
      },
    });
    this.#subs = new SubscriptionRegistry(this.#log);
    this.#opts = opts;
    this.#counterTtlMs = checkCounterTtl(opts.counterTtlMs ?? COUNTER_TTL_MS);
    this.#counterBucket = layout.counterBucket;
    this.#msgIdKey = opts.msgIdKey ?? new Uint8Array(randomBytes(32));
    this.#lowerLimits = opts.lowerLimits === true;
    this.#perDeviceCap = this.#limits.maxMessagesPerDevice;
    this.#maxAgeMs = this.#limits.maxAgeMs;
    this.#access = opts.access ?? readNatsAccess({ nats: Array.isArray(opts.servers) ? opts.servers : [opts.servers] });
    this.#access.files.refusals.declare('bus');
    this.#inboxPrefix = opts.inboxPrefix ?? '_INBOX';
    if (opts.requestPool !== undefined) checkRequestPool(opts.requestPool);
    this.#readerIdleMs = opts.readerIdleMs ?? CURSOR_REUSE_MS;
    this.#outageGraceMs = opts.outageGraceMs ?? OUTAGE_GRACE_MS;
    if (!(Number.isSafeInteger(this.#outageGraceMs) && this.#outageGraceMs >= 0)) throw new RangeError('outageGraceMs must be an integer >= 0');
    if (!(Number.isSafeInteger(this.#readerIdleMs) && this.#readerIdleMs > 0)) throw new RangeError('readerIdleMs must be a positive integer');
  }

  livePending(): number {
    return this.#live?.pending ?? 0;
  }

  /** The JetStream request pool per class (relay/bus/nats-requests.ts): requests waiting
   *  for their reply, and those refused for lack of room since start
   *  (hushwire_bus_requests_pending, hushwire_bus_requests_refused_total). */
  requestPool(): Record<RequestClass, { pending: number; refused: number }> {
    const out = {} as Record<RequestClass, { pending: number; refused: number }>;
    for (const c of REQUEST_CLASSES) {
      out[c] = { pending: this.#api?.pendingOf(c) ?? 0, refused: this.#refusedBefore[c] + (this.#api?.refusedOf(c) ?? 0) };
    }
    return out;
  }

  /** The mailbox streams, shard 0 first. */
  get streamNames(): readonly string[] {
    return this.#streams;
  }

  /** A route's shard: its tag is 32 hex digits of a keyed hash, so the first four are
   *  uniform; every device of a route shares the shard (opt-out purges one stream). */
  #shardOf(routeTag: string): number {
    const n = this.#streams.length;
    return n === 1 ? 0 : parseInt(routeTag.slice(0, 4), 16) % n;
  }

  get bucketName(): string {
    return this.#bucket;
  }

  // ---- lifecycle ----

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(busUnavailable('bus closed'));
    this.#starting ??= this.#doStart().catch((e: unknown) => {
      this.#starting = null;
      throw e;
    });
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    const o = this.#opts;
    const wait = o.reconnectWaitMs ?? 1000;
    let nc: NatsConnection;
    try {
      nc = await connectNats({
        name: o.name ?? 'hushwire',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: wait,
        reconnectJitter: wait,
        timeout: o.connectTimeoutMs ?? 5000,
        pingInterval: 10_000,
        maxPingOut: 3,
        // nats.js would close the connection for good after two authorization errors in a
        // row while reconnecting (credentials changed on the server a moment early): keep
        // trying with backoff instead, so the process recovers when they match again
        // (test/faults/nats-auth-rotation.test.ts). Refusals at start are still final
        // (relay/nats-connect.ts).
        ignoreAuthErrorAbort: true,
        waitOnFirstConnect: false,
        // nats.js otherwise builds two Error objects per request for async stack traces:
        // ~40% of the CPU of a request/reply round trip.
        noAsyncTraces: true,
        inboxPrefix: this.#inboxPrefix,
      }, this.#access);
    } catch (e) {
      throw connectFailed(e);
    }
    if (this.#closed) {
      await nc.close().catch(() => undefined);
      throw busUnavailable('bus closed');
    }
    this.#nc = nc;
    this.#status = { state: 'connected' };
    this.#watchStatus(nc);
    this.#watchRequests(nc);
    // A right the user lacks shows as a refused request, a request that times out (on
    // this bus's own inboxes) or a subscription closed by nats.js: any violation seen
    // while starting stops the start, naming it (relay/nats-permissions.ts).
    const denied = new PermissionWatch(nc);
    try {
      const jsOpts = { timeout: this.#requestTimeoutMs };
      this.#jsm = await jetstreamManager(nc, jsOpts);
      this.#js = jetstream(nc, jsOpts);
      await this.#ensureStores(this.#js, this.#jsm);
      // The KV client creates buckets with direct gets on; a bucket made by an older
      // deployment may lack them, and is then read through the KV client.
      const dir = await this.#jsm.streams.info(`KV_${this.#bucket}`);
      this.#directoryDirect = dir.config.allow_direct === true;
      this.#directoryReplicated = dir.config.num_replicas > 1;
      // Replicas as they are (a gateway started with the default 1 keeps a cluster's 3).
      this.#mailboxReplicated = (await this.#jsm.streams.info(this.#streams[0] as string)).config.num_replicas > 1;
      this.#live = new LiveRouter(nc, { prefix: this.#opts.prefix ?? 'hw', subs: this.#subs, log: this.#log, inboxPrefix: this.#inboxPrefix });
      const before = this.#api;
      if (before !== null) for (const c of REQUEST_CLASSES) this.#refusedBefore[c] += before.refusedOf(c);
      const healer = this.#healer;
      this.#api = new ApiRequests(nc, this.#requestTimeoutMs, {
        inboxPrefix: this.#inboxPrefix, log: this.#log, ...this.#opts.requestPool,
        watch: { answered: () => healer.answered('api'), timedOut: () => healer.timedOut('api') },
      });
      this.#eraseSubjects = this.#streams.map((n) => `$JS.API.STREAM.MSG.DELETE.${n}`);
      this.#readInbox = `${createInbox(this.#inboxPrefix)}.`;
      nc.subscribe(`${this.#readInbox}*`, { callback: (err, m) => { if (err === null) this.#onReadMsg(m); } });
      // Every gateway's announcements of devices leaving the directory (publishControl).
      nc.subscribe(this.#unregSubject, { callback: this.#onUnregisteredMsg });
      nc.subscribe(this.#unregIntentSubject, { callback: this.#onUnregisteringMsg });
      nc.subscribe(this.#unregBeatSubject, { callback: (err, m) => { if (err === null && !this.#closed) this.#beats.heard(m.data); } });
      // The probe of the device subjects (#probe).
      nc.subscribe(this.#probeDevice, { callback: () => { this.#devProbes++; } });
      if (!(await within(nc.flush(), this.#requestTimeoutMs))) throw busUnavailable('NATS did not answer');
      await this.#checkPermissions(nc, denied);
    } catch (e) {
      this.#nc = null;
      const v = denied.first;
      denied.stop();
      await nc.close().catch(() => undefined);
      // Not connected yet, and start() will be tried again unless close() came meanwhile.
      this.#status = this.#closed ? { state: 'closed' } : { state: 'starting' };
      // A refused right explains whatever failed meanwhile (a timeout, a refused request).
      if (v !== null) throw new BusMisconfigured(permissionRefusal(v, this.#access.authBy).setting, describeViolation(v, this.#access.authBy), e);
      // close() came meanwhile (and may have woken a wait between set-up attempts).
      if (this.#closed) throw busUnavailable('bus closed');
      // Which kind (retried or not) and why: gateway/bus-start.ts logs or stops on it.
      throw setupFailed(e, this.#access.authBy);
    }
    denied.stop();
    if (this.#closed) throw busUnavailable('bus closed');
    this.#ready = true;
    this.#beats.start((data) => nc.publish(this.#unregBeatSubject, data), () => this.#status.state === 'connected' && !this.#closed);
    this.#armProbes();
    // Lost meanwhile: the reconnect makes it listen.
    if (this.#status.state === 'connected') this.#unregistered.listening(UNREGISTERED_SETTLE_MS);
    this.#log('info', 'bus: connected to NATS', { streams: this.#streams.length, bucket: this.#bucket });
  }

  /**
   * At start, the rights the bus needs later that setting up did not use: subscribing a
   * device subject, publishing live and control messages and answers, the reads of
   * every mailbox shard and bucket (direct and leader gets of a subject that holds
   * nothing, and the info of a consumer that does not exist), the erasing deletes of
   * every shard and of the directory (a delete of sequence 0, PROBE_DELETE: "no message
   * found" when allowed), and re-creating the counter bucket after a NATS
   * restart (a create whose body names no stream: refused as a mismatch, nothing made);
   * all harmless. A right missing there would otherwise show only later, as live
   * deliveries that never arrive, reads that time out, opt-outs that leave mail behind
   * or registrations failing after a NATS restart. Throws BusMisconfigured naming the
   * first refusal.
   */
  async #checkPermissions(nc: NatsConnection, denied: PermissionWatch): Promise<void> {
    const prefix = this.#opts.prefix ?? 'hw';
    const zero = '0'.repeat(32);
    const device = `${this.#devPrefix}${zero}.${zero}`;
    let v: PermissionViolation | null = await probePermissions(nc, {
      subscribe: [device],
      // The announcements' subject: an empty message, which every gateway drops.
      publish: [device, `${prefix}.gw.${'0'.repeat(16)}`, `${this.#inboxPrefix}.${zero}`, this.#unregSubject, this.#unregIntentSubject, this.#unregBeatSubject],
    }, this.#requestTimeoutMs);
    const api = this.#api as ApiRequests;
    const reads: Promise<unknown>[] = [
      api.lastMessage(`KV_${this.#bucket}`, `$KV.${this.#bucket}.${zero}`, true),
      this.#jsApi(`$JS.API.STREAM.MSG.GET.KV_${this.#bucket}`, `{"last_by_subj":"$KV.${this.#bucket}.${zero}"}`),
    ];
    this.#streams.forEach((stream, shard) => {
      const subject = `${this.#mboxPrefixes[shard] as string}${zero}.${zero}`;
      reads.push(api.lastMessage(stream, subject, false));
      reads.push(this.#jsApi(`$JS.API.STREAM.MSG.GET.${stream}`, `{"last_by_subj":"${subject}"}`));
      reads.push(this.#jsApi(`$JS.API.CONSUMER.INFO.${stream}.hushwire_probe`, ''));
      reads.push(this.#jsApi(`$JS.API.STREAM.MSG.DELETE.${stream}`, PROBE_DELETE));
    });
    reads.push(this.#jsApi(`$JS.API.STREAM.MSG.DELETE.KV_${this.#bucket}`, PROBE_DELETE));
    reads.push(this.#jsApi(`$JS.API.STREAM.CREATE.KV_${this.#counterBucket}`, '{}'));
    // Refused reads never get an answer (they time out): the PONG after them says so first.
    const settled = Promise.allSettled(reads);
    await within(nc.flush(), this.#requestTimeoutMs);
    await new Promise((r) => setImmediate(r));
    v ??= denied.first;
    if (v === null) {
      await settled;
      v = denied.first;
    }
    if (v !== null) throw new BusMisconfigured(permissionRefusal(v, this.#access.authBy).setting, describeViolation(v, this.#access.authBy));
  }

  /** A violation after start: logged once per operation and subject shape. */
  #onPermissionDenied(v: PermissionViolation): void {
    const key = `${v.operation} ${subjectShape(v.subject)}`;
    if (this.#deniedLogged.has(key) || this.#deniedLogged.size > 256) return;
    this.#deniedLogged.add(key);
    this.#log('error', `bus: ${describeViolation(v, this.#access.authBy)}`, { operation: v.operation, subject: subjectShape(v.subject) });
  }

  /** Creates (or opens) the mailbox stream, the directory bucket and the counter bucket.
   *  Idempotent, safe when several gateways do it at once. */
  async #ensureStores(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const pass: LimitsPass = { higher: new Map(), updated: 0, perDevice: 0, replicasKept: 0, replicasBelow: 0, maxAgeMs: 0 };
    // A few shards at a time: on a cluster each new replicated stream is a Raft group
    // that takes 0.1-0.8 s to form (measured on a just-formed 3-node cluster here), and
    // one after the other that was ~8 s for 16 shards. The first failure stops the rest.
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < this.#streams.length) {
        try {
          await this.#ensureStream(jsm, next++, pass);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STREAM_SETUP_CONCURRENCY, this.#streams.length) }, worker));
    this.#reportLimits(pass);
    this.#kv = await createRacing(() => new Kvm(js).create(this.#bucket, {
      // 2, not 1: the revision an update replaces must still be there to be erased
      // (a revision removed by the history limit leaves its bytes on disk).
      history: 2,
      storage: StorageType.File,
      replicas: this.#replicas,
      maxValueSize: DIRECTORY_MAX_VALUE_BYTES,
    }), this.#closeSignal.signal).catch((e: unknown) => { throw refusedConfig(e, `KV_${this.#bucket}`, this.#replicas); });
    // Neither bucket is reconciled: the KV client binds to an existing bucket as it is
    // (its limits and replicas stay what its creator gave it).
    this.#counters = await createRacing(() => openCounterBucket(js, this.#counterBucket, this.#counterTtlMs, this.#replicas), this.#closeSignal.signal)
      .catch((e: unknown) => { throw refusedConfig(e, `KV_${this.#counterBucket}`, this.#replicas); });
  }

  /**
   * After a reconnect, and when a counter call fails: a restarted nats-server has lost
   * every memory-storage stream (the rate-limit counters), and a replaced one may have
   * lost the rest, so create them again (idempotent). Without this every send fails
   * UNAVAILABLE forever after a NATS restart (found by test/faults/nats-restart.test.ts).
   * Single-flight; retried a few times while JetStream comes back, then on the next
   * failing counter call (at most every RESTORE_EVERY_MS).
   *
   * Streams found laid out differently meanwhile (BusMisconfigured: another shard count,
   * a refused configuration) are not retried at once: the bus reports 'misconfigured'
   * (not ready) and logs the reason once, and looks again every MISCONFIGURED_RECHECK_MS
   * and after every reconnect. It does not exit: the gateway may hold connected devices,
   * and a restart would meet the same streams.
   */
  #restoreStores(after: 'a reconnect' | 'a failed counter call' | 'a misconfiguration recheck'): void {
    if (this.#restoring !== null || this.#closed || this.#js === null || this.#jsm === null) return;
    // Disconnected (NATS down, or refusing the credentials): nothing can be made, and the
    // reconnect starts a pass of its own. Ten attempts against no connection ended in a
    // 'cannot re-create' warning that only repeated the outage.
    if (this.#status.state !== 'connected') return;
    if (Date.now() - this.#lastRestore < RESTORE_EVERY_MS) return;
    const js = this.#js;
    const jsm = this.#jsm;
    // A right the user lacks (no STREAM.CREATE for the counter bucket a NATS restart
    // lost) shows as a violation; the request itself may just time out.
    const denied = this.#nc === null ? null : new PermissionWatch(this.#nc);
    this.#restoring = (async () => {
      for (let attempt = 1; attempt <= RESTORE_ATTEMPTS && !this.#closed; attempt++) {
        if (this.#status.state !== 'connected') return; // lost meanwhile: the reconnect tries again
        this.#lastRestore = Date.now();
        try {
          await this.#ensureStores(js, jsm);
          if (this.#misconfigured !== null) {
            this.#misconfigured = null;
            this.#log('info', 'bus: NATS set-up matches this gateway\'s settings again; ready');
          }
          this.#restoreProblem = '';
          // Names what started the pass: it also runs when counter calls fail while
          // connected (e.g. the counter bucket's JetStream leader was on a NATS node that
          // stopped), where 'after reconnect' sent the operator looking for one.
          this.#log('info', `bus: stream and buckets in place after ${after}`);
          return;
        } catch (e) {
          if (this.#closed) return; // close() woke a wait in the set-up: nothing to tell
          const v = denied?.first ?? permissionViolation(e);
          if (v !== null) {
            // Retrying cannot help until the user's rights change or an admin makes the
            // store: the next failing counter call (or reconnect) tries again.
            const why = `bus: cannot re-create stream or buckets: ${describeViolation(v, this.#access.authBy)}; until then registrations and discoveries fail UNAVAILABLE (rate-limit store unavailable)`;
            if (this.#restoreProblem !== why) this.#log('error', why, { operation: v.operation, subject: subjectShape(v.subject) });
            this.#restoreProblem = why;
            return;
          }
          if (e instanceof BusMisconfigured) {
            if (this.#misconfigured?.message !== e.message) {
              this.#log('error', `bus: NATS set-up no longer matches this gateway's settings; not ready until it does: ${e.message}`, { setting: e.setting });
            }
            this.#misconfigured = e;
            this.#scheduleRecheck();
            return;
          }
          if (attempt === RESTORE_ATTEMPTS) this.#log('warn', 'bus: cannot re-create stream or buckets yet', { error: setupFailed(e, this.#access.authBy).message });
        }
        // Woken by close(), which waits for this pass: a plain timer kept close (and
        // the process's exit) waiting for the rest of the second.
        try {
          await sleep(RESTORE_EVERY_MS, undefined, { signal: this.#closeSignal.signal });
        } catch {
          return; // closed
        }
      }
      // A recheck that met only transient errors (no JetStream leader for a while) must
      // not be the last one: still misconfigured, look again later.
      if (this.#misconfigured !== null) this.#scheduleRecheck();
    })().finally(() => {
      denied?.stop();
      this.#restoring = null;
    });
  }

  /**
   * Counter calls go through here. Right after a reconnect a restarted nats-server has
   * no memory-storage counter bucket until the restore pass makes it again, and a read
   * of the missing bucket is not refused but goes unanswered until its deadline: calls
   * made then used to wait 5 s and fail UNAVAILABLE although the bus said connected, so
   * the first registrations and discoveries after a NATS restart failed
   * (test/bus/nats.test.ts, "counters right after a restart"). So a call waits for a
   * pass in flight first; one that fails fast starts a pass if none ran lately, waits
   * for it the same way and tries once more. One deadline (the request timeout, from
   * the call) covers the waits; the call's own timeout applies only when the first
   * attempt was made without waiting, so the whole stays within twice that at worst.
   */
  async #counterCall<T>(call: () => Promise<T>): Promise<T> {
    let r: T;
    try {
      r = await this.#counterTry(call);
    } catch (e) {
      this.#counterErrors++;
      if (!this.#counterFailing) {
        this.#counterFailing = true;
        this.#log('warn', `bus: rate-limit counter store KV_${this.#counterBucket} unavailable: registrations and discoveries fail UNAVAILABLE until it works again`);
      }
      throw e;
    }
    if (this.#counterFailing) {
      this.#counterFailing = false;
      this.#log('info', `bus: rate-limit counter store KV_${this.#counterBucket} works again`);
    }
    return r;
  }

  /** Losses of the connection since start (each 'disconnect', 'staleConnection' and
   *  'reconnecting' seen): Bus.connectionLosses. */
  connectionLosses(): number {
    return this.#losses;
  }

  /** Bus.reconnected: the outage's `up` (#beginOutage), resolved by the 'reconnect' and
   *  by the close (#endOutage). */
  reconnected(): Promise<void> {
    return this.#outage?.up ?? Promise.resolve();
  }

  /** Counter calls that failed (rate-limit store unavailable) since start
   *  (hushwire_rate_limit_store_errors_total). */
  counterStoreErrors(): number {
    return this.#counterErrors;
  }

  async #counterTry<T>(call: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.#requestTimeoutMs;
    if (this.#restoring !== null && !(await this.#restorePassed(this.#requestTimeoutMs / 2))) {
      // The restore pass is slow (JetStream still recovering): fail now rather than
      // queue behind it; the caller's error says UNAVAILABLE and to retry.
      throw busUnavailable('rate-limit store unavailable');
    }
    try {
      return await call();
    } catch (e) {
      this.#restoreStores('a failed counter call');
      const left = deadline - performance.now();
      // A call that failed slowly (a timeout) has used its time: no second try.
      if (this.#restoring === null || left < this.#requestTimeoutMs / 2) throw e;
      if (!(await this.#restorePassed(left / 2)) || this.#closed || this.#status.state !== 'connected') throw e;
      return call();
    }
  }

  /** Waits for the restore pass in flight, at most `ms`; true if it ended by then. */
  async #restorePassed(ms: number): Promise<boolean> {
    const pass = this.#restoring;
    if (pass === null) return true;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      pass.then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
    ]);
    clearTimeout(timer);
    return ended;
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== null || this.#closed) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = null;
      if (this.#misconfigured === null || this.#closed) return;
      this.#lastRestore = 0;
      this.#restoreStores('a misconfiguration recheck');
    }, this.#recheckMs);
    this.#recheck.unref?.();
  }

  #streamConfig(shard: number): Partial<StreamConfig> & { name: string } {
    const l = this.#limits;
    const n = this.#streams.length;
    return {
      name: this.#streams[shard] as string,
      ...(n > 1 ? { description: shardDescription(shard, n) } : {}),
      subjects: [`${this.#mboxPrefixes[shard] as string}>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: this.#replicas,
      max_age: nanos(l.maxAgeMs),
      max_msgs_per_subject: l.maxMessagesPerDevice,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
      max_msg_size: l.maxMessageBytes + HEADER_ALLOWANCE,
      duplicate_window: nanos(dedupWindowMs(l)),
      allow_direct: true,
    };
  }

  /** Creates or updates one mailbox stream; safe when several gateways start at once. */
  async #ensureStream(jsm: JetStreamManager, shard: number, pass: LimitsPass, attempt = 1): Promise<void> {
    const cfg = this.#streamConfig(shard);
    const { name, ...update } = cfg;
    let overlap = false;
    // Only "no such stream" means there is none: any other failure to read it (a
    // timeout, no leader) is retried, never taken for a layout mismatch that stops the
    // gateway. Looked at before creating, so that a gateway whose NATS user may not
    // create streams runs on streams an admin made beforehand (docs/OPERATIONS.md,
    // "NATS permissions"): it needs STREAM.CREATE only for a missing stream and
    // STREAM.UPDATE only for a change.
    const look = async (): Promise<StreamConfig | undefined> => {
      try {
        return (await jsm.streams.info(name)).config;
      } catch (e) {
        if (jsErrCode(e) !== 10059) throw e;
        return undefined;
      }
    };
    let existing = await look();
    if (existing === undefined) {
      try {
        await jsm.streams.add(cfg);
        pass.perDevice = Math.max(pass.perDevice, this.#limits.maxMessagesPerDevice);
        pass.maxAgeMs = Math.max(pass.maxAgeMs, this.#limits.maxAgeMs);
        return;
      } catch (e) {
        // 10058: the stream exists with another configuration (made meanwhile).
        // 10065: its subjects overlap a stream's: another gateway creating the same stream
        // at this moment, or a mailbox laid out for another number of shards (a 1-shard
        // HW_MBOX takes all of <prefix>.mbox.>); told apart below.
        const code = jsErrCode(e);
        if (code !== 10058 && code !== 10065) throw refusedConfig(e, cfg.name, this.#replicas);
        overlap = code === 10065;
      }
      existing = await look();
    }
    if (overlap && existing === undefined && attempt < OVERLAP_ATTEMPTS) {
      // Another gateway creating this very stream (nats-server answers "overlap" until
      // it exists), or another layout's stream holding the subjects: look again before
      // calling it a mismatch, which stops a gateway at start. Woken by close(), which
      // waits for a start under way (the AbortError ends the start).
      await sleep(50 * attempt, undefined, { signal: this.#closeSignal.signal });
      return this.#ensureStream(jsm, shard, pass, attempt + 1);
    }
    if (overlap && (existing === undefined || existing.subjects?.join() !== cfg.subjects?.join())) {
      throw this.#layoutMismatch(`its subjects overlap an existing stream's`);
    }
    // Another shard count would put a route's mail in another stream than the one the
    // other gateways read: refuse rather than lose sight of stored mail.
    const m = SHARD_DESCRIPTION_RE.exec(existing?.description ?? '');
    const theirs = m === null ? 1 : Number(m[2]);
    if (existing !== undefined && theirs !== this.#streams.length) {
      throw this.#layoutMismatch(`stream ${name} belongs to a mailbox of ${theirs} shard(s)`);
    }
    if (overlap) { // created by another gateway just now, with this configuration
      pass.perDevice = Math.max(pass.perDevice, this.#limits.maxMessagesPerDevice);
      pass.maxAgeMs = Math.max(pass.maxAgeMs, this.#limits.maxAgeMs);
      return;
    }
    // 10058 said it exists; gone since (deleted just now): the next attempt creates it.
    if (existing === undefined) throw busUnavailable(`stream ${name} vanished while being set up`);
    this.#keepHigherLimits(existing, update, pass);
    // Never change the replicas of a live stream: --nats-replicas applies when a stream
    // is created (docs/OPERATIONS.md, "Replicas"). A gateway started without it (default
    // 1) must not quietly take a 3-replica mailbox down to 1; nor may one started with 3
    // raise an existing one: a single nats-server 2.9 accepts that update (it refuses
    // only the creation) and then records 3 replicas of a stream it holds once, which
    // every later gateway reported as kept, and a cluster's buckets would stay at 1.
    const have = existing.num_replicas;
    const want = update.num_replicas ?? 1;
    if (have > want) pass.replicasKept = Math.max(pass.replicasKept, have); // one line per pass (#reportLimits)
    if (have < want) pass.replicasBelow = pass.replicasBelow === 0 ? have : Math.min(pass.replicasBelow, have);
    update.num_replicas = have;
    // Nothing left to change (e.g. only lower limits, kept): no update, so gateways
    // with mixed settings do not rewrite the streams at every start and reconnect.
    if (COMPARED_FIELDS.every((f) => !(f in update) || sameValue(existing[f], update[f]))) return;
    try {
      await jsm.streams.update(name, update);
    } catch (e) {
      throw refusedConfig(e, name, this.#replicas);
    }
    pass.updated++;
  }

  /**
   * The mailbox streams are shared by every gateway, and their retention limits with
   * them: a gateway started with a lower --mailbox-max-age-s, --mailbox-max-messages or
   * --max-envelope-bytes than the streams have used to lower them for all (the operator
   * audit: a 60 s max age expired the mail other gateways had stored, and gateways with
   * mixed settings rewrote the streams at every reconnect). So a lower value is applied
   * only with --mailbox-lower-limits; otherwise the stream keeps its value, and mixed
   * settings converge on the larger ones. A higher value is applied (it loses nothing).
   * Edits `update` in place; the findings go to `pass` (#reportLimits logs them).
   */
  #keepHigherLimits(existing: StreamConfig, update: Partial<StreamConfig>, pass: LimitsPass): void {
    for (const { field, setting, inSetting } of RETENTION_LIMITS) {
      const current = existing[field];
      const mine = update[field] as number;
      const unlimited = !(typeof current === 'number' && current > 0);
      if (!unlimited && mine >= current) continue;
      const stream = unlimited ? 'unlimited' as const : inSetting(current);
      const seen = pass.higher.get(setting);
      if (seen === undefined || seen.stream !== 'unlimited' && (stream === 'unlimited' || stream > seen.stream)) {
        pass.higher.set(setting, { stream, configured: inSetting(mine) });
      }
      if (!this.#lowerLimits && typeof current === 'number') update[field] = current;
    }
    // JetStream refuses a duplicate window longer than max_age.
    const age = update.max_age ?? 0;
    update.duplicate_window = age > 0 ? Math.min(nanos(DEDUP_WINDOW_MS), age) : nanos(DEDUP_WINDOW_MS);
    pass.maxAgeMs = Math.max(pass.maxAgeMs, age > 0 ? age / 1e6 : Infinity);
    const perDevice = update.max_msgs_per_subject ?? -1;
    pass.perDevice = Math.max(pass.perDevice, perDevice > 0 ? perDevice : Infinity);
  }

  /** One line per pass over the mailbox streams (not one per shard), and a finding about
   *  limits only once per bus: it is repeated at every reconnect otherwise. */
  #reportLimits(pass: LimitsPass): void {
    if (pass.perDevice > 0) this.#perDeviceCap = pass.perDevice;
    if (pass.maxAgeMs > 0) this.#maxAgeMs = pass.maxAgeMs;
    if (pass.higher.size > 0) {
      const found = [...pass.higher].map(([setting, v]) => `${setting} ${v.stream} (this gateway: ${v.configured})`).join(', ');
      const msg = this.#lowerLimits
        ? `bus: lowering the mailbox streams' limits to this gateway's (--mailbox-lower-limits): ${found}`
        : `bus: mailbox streams keep their higher limits: ${found}; --mailbox-lower-limits would lower them`;
      if (!this.#limitWarnings.has(msg)) {
        this.#limitWarnings.add(msg);
        this.#log('warn', msg, { limits: [...pass.higher].map(([setting, v]) => ({ setting, stream: v.stream, configured: v.configured })) });
      }
    }
    if (pass.replicasKept > 0) {
      const msg = `bus: mailbox streams have more replicas than configured; keeping them (${pass.replicasKept}, --nats-replicas ${this.#replicas})`;
      if (!this.#limitWarnings.has(msg)) {
        this.#limitWarnings.add(msg);
        this.#log('warn', msg, { have: pass.replicasKept, configured: this.#replicas });
      }
    }
    if (pass.replicasBelow > 0) {
      const msg = `bus: mailbox streams have fewer replicas than configured; keeping them (${pass.replicasBelow}, --nats-replicas ${this.#replicas}): the setting applies when a stream is created, raise an existing one with nats stream edit`;
      if (!this.#limitWarnings.has(msg)) {
        this.#limitWarnings.add(msg);
        this.#log('warn', msg, { have: pass.replicasBelow, configured: this.#replicas });
      }
    }
    if (pass.updated > 0) this.#log('info', 'bus: mailbox stream configuration updated', { streams: pass.updated });
  }

  #layoutMismatch(why: string): BusMisconfigured {
    const n = this.#streams.length;
    return new BusMisconfigured('--mailbox-shards',
      `mailbox configured with ${n} shard(s), but ${why}: every gateway must use the same --mailbox-shards (docs/OPERATIONS.md)`);
  }

  #watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
          case 'reconnecting':
          case 'staleConnection':
            // Announcements sent meanwhile are lost to this bus (core NATS keeps nothing):
            // authentications re-read until the reconnect has settled.
            this.#unregistered.lost();
            this.#lostAt ??= this.#unregistered.mark();
            this.#beats.reset();
            this.#losses++;
            if (this.#status.state === 'connected') {
              this.#status = { state: 'reconnecting', since: Date.now() };
              this.#beginOutage();
              // 'staleConnection' and 'reconnecting' carry no server; a connection NATS
              // drops for its credentials reports 'staleConnection' first. The server
              // lost is then still the client's current one.
              const at = statusServer(s) ?? statusServer({ server: nc.getServer() });
              this.#log('warn', `bus: NATS connection lost${at === null ? '' : ` (${at})`}; reconnecting`, at === null ? undefined : { nats: at });
            }
            // Pulls in flight are lost, and so are the replies to store requests in
            // flight. The readers stay on a server that did not restart (a dropped
            // connection, a move to another node): deleted after the reconnect.
            this.#onDrop();
            this.#dropAllCursors();
            this.#api?.failAll(false);
            break;
          case 'reconnect':
            // nats.js reports one 'reconnect' per failed attempt of the outage (each
            // attempt's disconnect handler awaits the same dial loop), all at once when
            // one succeeds: after 100 refused attempts, 100 of them. Only the first is
            // this bus reconnecting; acting on each repeated the line, and every
            // connected device was told to read its mailbox again 100 times.
            if (this.#status.state === 'connected') break;
            this.#status = { state: 'connected' };
            this.#endOutage();
            this.#listenAgain();
            const at = statusServer(s);
            this.#log('info', `bus: NATS reconnected${at === null ? '' : ` (${at})`}`, at === null ? undefined : { nats: at });
            this.#access.files.refusals.accepted('bus', this.#log);
            this.#lastRestore = 0;
            this.#restoreStores('a reconnect');
            void this.#deleteOrphanReaders();
            this.#signalMailAfterReconnect();
            break;
          case 'error': {
            const v = permissionViolation(s.error);
            if (v !== null) {
              if (this.#ready) this.#onPermissionDenied(v); // while starting: the start fails on it
              break;
            }
            // Credentials refused at a reconnect (changed on the server first, or an
            // expired user JWT): say which flag, and why where known.
            // Logged once, then at most once a minute while it lasts (relay/nats-refusals.ts).
            const refused = natsRefusal(s.error, this.#access);
            if (refused !== null) this.#access.files.refusals.refused('bus', { setting: refused.setting, reason: refused.reason, error: s.error.name }, this.#log);
            else this.#log('warn', 'bus: NATS error', { error: s.error.name });
            break;
          }
          case 'ldm':
            this.#log('warn', 'bus: NATS server entering lame duck mode');
            break;
          case 'slowConsumer':
            this.#log('warn', 'bus: slow consumer', { pending: s.pending });
            break;
          default:
            break;
        }
      }
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      this.#unregistered.lost();
      this.#status = { state: 'closed' };
      this.#endOutage();
      this.#ready = false;
      if (err && !this.#closed) this.#log('error', 'bus: NATS connection closed', { error: err.name });
    });
  }

  /** After a reconnect (nats.js has made the announcements' SUB again): trusted once it
   *  settled; the listener re-checks what it accepted before the loss (gap), and the
   *  `unregistered` messages this bus published that may have been lost go out again.
   *  Only once started: the start makes it listen itself. */
  #listenAgain(): void {
    const lostAt = this.#lostAt;
    this.#lostAt = null;
    if (!this.#ready || this.#closed) return;
    this.#unregistered.listening(UNREGISTERED_SETTLE_MS);
    this.#beats.reset();
    // Once the other nodes have this connection's interest again, as for the SUBs: what
    // nats-server routes before that reaches no gateway on another node.
    if (this.#unconfirmed.size > 0 || this.#unconfirmedKicks.size > 0) setTimeout(() => this.#publishUnconfirmed(), UNREGISTERED_SETTLE_MS).unref();
    if (lostAt === null) return;
    try {
      this.#unregisteredListener?.gap(lostAt);
    } catch (e) {
      this.#log('error', 'bus: unregistered listener threw', { error: e instanceof Error ? e.name : typeof e });
    }
  }

  /** The `unregistered` messages and kicks this bus published without a PONG after them,
   *  published again (#listenAgain). Lost again meanwhile: the next reconnect does it.
   *  A kick goes out again only if its connection still holds the device here (not
   *  closed, not kicked by a connection whose kick reached this bus, no newer one here:
   *  that one's own kick replaced it), and marked `again`, so that a connection elsewhere
   *  newer than it (its kick lost to this bus while disconnected) is not closed by it
   *  but answers with its own kick (relay/session.ts #onKick). */
  #publishUnconfirmed(): void {
    if (this.#closed || this.#status.state !== 'connected') return;
    for (const key of [...this.#unconfirmed.keys()]) {
      const dot = key.indexOf('.');
      void this.publishControl(key.slice(0, dot), key.slice(dot + 1), { kind: 'unregistered' }).catch(() => undefined);
    }
    for (const [key, k] of [...this.#unconfirmedKicks]) {
      this.#unconfirmedKicks.delete(key);
      if (this.#subs.newestConnection(key) !== k.connection) continue;
      const dot = key.indexOf('.');
      void this.publishControl(key.slice(0, dot), key.slice(dot + 1), { kind: 'kick', connection: k.connection, again: true }).catch(() => undefined);
    }
  }

  /** An announcement on `<prefix>.unreg`: a device left the directory (an opt-out or an
   *  expiry on any gateway, this one included). Its subscriptions here hear it as their
   *  `unregistered` (also when the device's own message reached them: a second one
   *  changes nothing), it is remembered for the authentications under way
   *  (unregisteredSince), and the listener is told. Anything but a device key is
   *  dropped (the start's permission probe publishes an empty message). */
  readonly #onUnregisteredMsg = (err: Error | null, m: Msg): void => {
    const key = err !== null || this.#closed ? null : this.#unregKey(m.data);
    if (key === null) return;
    this.#subs.control(key, { kind: 'unregistered' });
    hearUnregistered(this.#unregistered, this.#unregisteredListener, key, this.#log);
  };

  /** Beats of another gateway lost (relay/bus/peer-beats.ts): a route between NATS nodes
   *  broke, or that gateway died, and what it announced after `lostAt` may not have come
   *  here; the listener re-reads as after this bus's own loss (gap). */
  #beatsLost(lostAt: number): void {
    if (this.#closed || !this.#ready) return;
    this.#log('warn', 'bus: beats of another gateway lost (a route between NATS nodes broke, or it died); sessions checked recently read their record again');
    try {
      this.#unregisteredListener?.gap(lostAt);
    } catch (e) {
      this.#log('error', 'bus: unregistered listener threw', { error: e instanceof Error ? e.name : typeof e });
    }
  }

  /** The device key an announcement or intent carries; null (and, but for the start's
   *  empty probe, a malformed line) for anything else. */
  #unregKey(data: Uint8Array): string | null {
    if (data.length !== UNREG_KEY_BYTES) {
      if (data.length !== 0) this.#malformedControl();
      return null;
    }
    const key = td.decode(data);
    if (!UNREG_KEY_RE.test(key)) {
      this.#malformedControl();
      return null;
    }
    return key;
  }

  /** An intent on `<prefix>.unreg.intent`: a gateway is about to remove the device. Only
   *  remembered: should its announcement not follow, the device's sessions here read the
   *  record (relay/bus/unregistered.ts). */
  readonly #onUnregisteringMsg = (err: Error | null, m: Msg): void => {
    const key = err !== null || this.#closed ? null : this.#unregKey(m.data);
    if (key !== null) this.#unregistered.intent(key);
  };

  async announceUnregistering(routeTag: string, deviceToken: string): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    this.#reachable();
    const data = te.encode(this.#key(routeTag, deviceToken));
    // Confirmed by the turn's PONG with no loss in between (nats.js drops what was
    // written into a connection that died), else the removal is not made. Made once
    // connected (a loss within the grace is waited out, as a directory write waits for
    // it), and again once should a loss drop it. The renewals of a removal under way
    // (announcedRemoval) made while the connection is lost wait so too, and go out at
    // the reconnect with what else waited, before the removal's write that waited.
    await this.#viaNats(async () => {
      const nc = this.#conn();
      const losses = this.#losses;
      this.#publishInTurn(nc, this.#unregIntentSubject, data);
      if (!(await this.#turnFlush(nc)) || this.#losses !== losses) throw busUnavailable('cannot announce the removal');
    }, true);
  }

  unregisteredMark(): number {
    return this.#unregistered.mark();
  }

  unregisteredSince(routeTag: string, deviceToken: string, mark: number): UnregisteredVerdict {
    return this.#unregistered.since(this.#key(routeTag, deviceToken), mark);
  }

  watchUnregistered(listener: UnregisteredListener): void {
    this.#unregisteredListener = listener;
  }

  /**
   * Mail stored while this bus was disconnected had nobody here to get its 'mail' signal
   * (relay.ts publishes one after every store; core NATS drops it without a subscriber),
   * and live offers to these devices meanwhile fell back to the mailbox. Without this a
   * connected device saw that mail only after the next store or its next connect (found
   * by test/faults/nats-restart.test.ts under load: the sender's gateway reconnected
   * first and stored ~100 messages for a device whose gateway had not, and none arrived
   * within 90 s). So every subscribed device reads its mailbox again, in slices.
   */
  #signalMailAfterReconnect(): void {
    const keys = this.#subs.keys();
    for (let i = 0; i * RECONNECT_MAIL_SLICE < keys.length; i++) {
      const slice = keys.slice(i * RECONNECT_MAIL_SLICE, (i + 1) * RECONNECT_MAIL_SLICE);
      const timer = setTimeout(() => {
        if (this.#closed) return;
        for (const key of slice) this.#subs.control(key, { kind: 'mail' });
      }, i * RECONNECT_MAIL_EVERY_MS);
      timer.unref?.();
    }
  }

  /**
   * The connection was lost (nats.js reconnects by itself). Operations that need NATS
   * wait for the reconnect (#viaNats) instead of being written into nats.js, which keeps
   * nothing written while disconnected; once the loss has lasted OUTAGE_GRACE_MS, those
   * still waiting fail UNAVAILABLE (`down` rejects; the JetStream requests' pool is
   * emptied too), and new ones fail at once (#reachable) until the 'reconnect'.
   * retry_after_ms 1000: the handset's SDK retries (a send until its deadline; an auth on
   * the next gateway, and here not sooner). Live deliveries to devices held by this
   * gateway still work (offerLive): they need no NATS.
   */
  #beginOutage(): void {
    if (this.#outage !== null) return;
    let fail: (e: unknown) => void = () => undefined;
    const down = new Promise<never>((_resolve, reject) => { fail = reject; });
    down.catch(() => undefined); // raced by the operations; nobody need be waiting
    let reconnected: () => void = () => undefined;
    const up = new Promise<void>((resolve) => { reconnected = resolve; });
    const outage: Outage = {
      down,
      up,
      reconnected,
      failing: false,
      timer: setTimeout(() => {
        if (this.#outage !== outage) return;
        outage.failing = true;
        fail(natsLost());
        this.#api?.failAll(false);
        this.#pumpErases();
      }, this.#outageGraceMs),
    };
    outage.timer.unref?.();
    this.#outage = outage;
  }

  #endOutage(): void {
    const outage = this.#outage;
    if (outage === null) return;
    clearTimeout(outage.timer);
    this.#outage = null;
    outage.reconnected();
    this.#pumpErases();
    this.#live?.releaseAnswers();
  }

  /**
   * A loss of the connection seen (each 'disconnect', 'staleConnection' and
   * 'reconnecting'). What nats.js 3.4 does then: every reconnect attempt, the one that
   * succeeds included, starts with an empty write buffer (ProtocolHandler.prepare →
   * resetOutbound), so what was published or requested while disconnected is dropped
   * without an error; its subscriptions (the request mux and this bus's inboxes among
   * them) are sent again once connected, but a request in flight when the connection
   * dropped never gets its reply (nats-server dropped the reply subject's interest with
   * the connection, or restarted) and nats.js leaves it waiting for its timeout (5 s).
   * So the requests in flight through #viaNats are abandoned now (it repeats the
   * idempotent ones once reconnected), and so are the live offers to other gateways.
   */
  #onDrop(): void {
    this.#drops++;
    if (this.#inFlight.size > 0) {
      const all = [...this.#inFlight];
      this.#inFlight.clear();
      for (const reject of all) reject(DROPPED);
    }
    this.#live?.dropRemote();
    this.#live?.holdAnswers();
  }

  /** #conn() for the operations that need NATS: UNAVAILABLE at once while the connection
   *  has been lost for longer than the grace (#beginOutage). */
  #reachable(): NatsConnection {
    const nc = this.#conn();
    if (this.#outage?.failing === true) throw natsLost();
    return nc;
  }

  /**
   * A request to nats-server (`make` sends it; one or more nats.js requests, the JetStream
   * pool's or both), made so that a lost connection neither drops it silently nor holds
   * it until its deadline (see #onDrop for what nats.js does):
   * - while the connection is lost it is not made yet: it waits for the reconnect, and
   *   fails NatsLost (UNAVAILABLE, retry_after_ms) once the loss outlasts the grace;
   * - one in flight when the loss is seen is abandoned at once (what failed after a loss
   *   counts as lost with it): if `idempotent` it is made again once reconnected, once;
   *   otherwise its outcome is unknown, as after a timeout, and it fails
   *   WriteOutcomeUnknown (UNAVAILABLE as NatsLost; a caller that can tell from a fresh
   *   read whether its edit landed reads again and decides again: the opt-out's and the
   *   idle expiry's removals). A second loss fails the repeat NatsLost.
   * Idempotent: reads, the mailbox store (JetStream drops a repeated Nats-Msg-Id within
   * its duplicate window), erases (an erased message is "already gone"), flushes. Not: the
   * compare-and-set writes (directory, counters), which may have been applied.
   */
  async #viaNats<T>(make: () => Promise<T>, idempotent: boolean): Promise<T> {
    for (let last = !idempotent; ; last = true) {
      const outage = this.#outage;
      if (outage !== null) await Promise.race([outage.up, outage.down]);
      const drops = this.#drops;
      try {
        return await this.#untilDrop(make());
      } catch (e) {
        if (this.#drops === drops) throw e;
        if (last) throw idempotent ? natsLost() : writeLost();
      }
    }
  }

  /** `p`, or DROPPED as soon as a loss of the connection is seen (#onDrop); `p` keeps
   *  running (a nats.js request then ends at its timeout), its outcome dropped. */
  #untilDrop<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#inFlight.add(reject);
      p.then((v) => {
        this.#inFlight.delete(reject);
        resolve(v);
      }, (e: unknown) => {
        this.#inFlight.delete(reject);
        reject(e);
      });
    });
  }

  mailboxMaxAgeMs(): number {
    return this.#maxAgeMs;
  }

  // ---- self-healing of lost subscriptions (relay/bus/nats-heal.ts) ----

  /** Forced reconnects since start, by reason (hushwire_bus_renewals_total). */
  subscriptionRenewals(): Record<RenewalReason, number> {
    return { ...this.#renewals };
  }

  /** The outcome of every nats.js request on this connection (its request mux inbox:
   *  mailbox stores, directory and counter writes, counter reads, erases, JetStream
   *  management), for the healer: a timeout, an answer (a JetStream error is one), or
   *  neither (no responders, the connection). JetStream and the KV client call
   *  nc.request, so this is where all of them pass. */
  #watchRequests(nc: NatsConnection): void {
    const request = nc.request.bind(nc);
    const healer = this.#healer;
    nc.request = (...args: Parameters<NatsConnection['request']>): Promise<Msg> => request(...args).then((m) => {
      healer.answered('mux');
      return m;
    }, (e: unknown) => {
      if (timedOutError(e)) healer.timedOut('mux');
      else healer.other('mux');
      throw e;
    });
  }

  #armProbes(): void {
    if (this.#probeEveryMs === 0 || this.#probeTimer !== null || this.#closed) return;
    this.#probeTimer = setInterval(() => void this.#probe(), this.#probeEveryMs);
    this.#probeTimer.unref();
  }

  /**
   * One probe round: an empty message to this bus's probe device subject, to its node
   * subject (live batches), to its live answers' inbox and to its request inbox, and an
   * empty request (nats.js's request mux) to its mailbox-read
   * inbox, which #onReadMsg answers; each inbox under a token no request uses. Then a
   * PING, and another once the first PONG came (after it, the answer to the request
   * was sent). nats-server writes what it delivers to a connection in order, and a PONG
   * after what the commands before its PING delivered: once the PONGs are read, a probe
   * not received is a subscription the server no longer delivers here. No PONG within
   * the request deadline (NATS slow or stalled), a loss meanwhile: no verdict.
   */
  async #probe(): Promise<void> {
    const nc = this.#nc;
    const api = this.#api;
    const live = this.#live;
    if (this.#probing || nc === null || api === null || live === null || this.#closed || !this.#ready || this.#status.state !== 'connected' || this.#outage !== null) return;
    this.#probing = true;
    try {
      const losses = this.#losses;
      const dev = this.#devProbes;
      const reads = this.#readProbes;
      const apis = api.probes;
      const { inbox: liveInbox, node } = live.probes;
      let answered = false;
      try {
        nc.publish(this.#probeDevice, EMPTY);
        nc.publish(api.probeSubject, EMPTY);
        nc.publish(live.probeSubjects.node, EMPTY);
        nc.publish(live.probeSubjects.inbox, EMPTY);
        nc.request(this.#readInbox + PROBE_TOKEN, EMPTY, { timeout: this.#requestTimeoutMs }).then(() => { answered = true; }, () => undefined);
      } catch {
        return; // closed or draining
      }
      if (!(await within(nc.flush(), this.#requestTimeoutMs))) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!(await within(nc.flush(), this.#requestTimeoutMs))) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#losses !== losses || this.#nc !== nc || this.#api !== api || this.#closed || this.#status.state !== 'connected') return;
      const missing: string[] = [];
      if (this.#devProbes === dev) missing.push('device subjects');
      if (live.probes.node === node) missing.push('node subject');
      if (live.probes.inbox === liveInbox) missing.push('live answers');
      if (api.probes === apis) missing.push('request replies');
      if (this.#readProbes === reads) missing.push('mailbox reads');
      else if (!answered) missing.push('JetStream replies');
      this.#healer.probed(missing);
    } finally {
      this.#probing = false;
    }
  }

  /** Forces a reconnect (nats.js sends every SUB again; 'disconnect' and 'reconnect'
   *  run #watchStatus's handling as for any reconnect: the outage, the requests in
   *  flight abandoned or made again, the announcements' gap, mailboxes read again).
   *  Only once the server answered a PING within the request deadline: a slow or
   *  stalled nats-server has lost nothing, and a reconnect would not help it. */
  async #renew(reason: RenewalReason, why: string, nextInS: number): Promise<boolean> {
    const nc = this.#nc;
    if (nc === null || this.#closed || this.#status.state !== 'connected' || this.#outage !== null) return false;
    const losses = this.#losses;
    if (!(await within(nc.flush(), this.#requestTimeoutMs))) return false;
    if (this.#losses !== losses || this.#nc !== nc || this.#closed || this.#status.state !== 'connected') return false;
    this.#renewals[reason]++;
    this.#log('warn', `bus: ${why}; reconnecting to NATS so that the servers learn this gateway's subscriptions again (a NATS server may have lost them), at most once every ${nextInS} s while it goes on`, { reason, nextInS });
    try {
      await nc.reconnect();
    } catch {
      return false; // closed or draining meanwhile
    }
    return true;
  }

  status(): BusStatus {
    if (this.#status.state === 'connected' && this.#misconfigured !== null) return { state: 'misconfigured' };
    return this.#status.state === 'reconnecting' ? { state: 'reconnecting', since: this.#status.since } : this.#status;
  }

  /** #conn() for the mailbox: while the streams contradict this gateway's layout
   *  (misconfigured), mail it stored could land where the other gateways do not look
   *  (another shard count), so it neither stores nor reads: UNAVAILABLE, and the
   *  senders and devices retry through another gateway (this one is not ready). */
  #mailboxConn(): NatsConnection {
    const nc = this.#reachable();
    if (this.#misconfigured !== null) throw busUnavailable('mailbox streams laid out for other settings: not serving mail');
    return nc;
  }

  #conn(): NatsConnection {
    const nc = this.#nc;
    if (this.#closed || nc === null || !this.#ready || nc.isClosed()) {
      throw busUnavailable(this.#closed ? 'bus closed' : nc === null || !this.#ready ? 'bus not started' : 'NATS connection closed');
    }
    return nc;
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    this.#unregistered.close();
    this.#endOutage();
    this.#closeSignal.abort();
    this.#access.files.refusals.forget('bus', this.#log);
    if (this.#recheck !== null) clearTimeout(this.#recheck);
    this.#recheck = null;
    if (this.#readerTimer !== null) clearInterval(this.#readerTimer);
    this.#readerTimer = null;
    if (this.#probeTimer !== null) clearInterval(this.#probeTimer);
    this.#probeTimer = null;
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    const nc = this.#nc;
    const releases = this.#subs.clear();
    this.#beats.stop(nc !== null && !nc.isClosed() ? (data) => nc.publish(this.#unregBeatSubject, data) : undefined);
    if (nc !== null && !nc.isClosed()) {
      for (const r of releases) await r().catch(() => undefined);
      // Every reader this bus made, or asked for, is deleted before the connection goes
      // (bounded by the request deadline): a cached one, one a pull was reading, one
      // whose create is unanswered (nats-server handles one connection's API requests
      // in order). Not connected now: the server's inactivity threshold removes them.
      this.#dropAllCursors();
      for (const [name, shard] of this.#creating) this.#orphanReaders.set(name, shard);
      await within(this.#deleteOrphanReaders(), this.#requestTimeoutMs);
      this.#live?.close();
      this.#api?.failAll(true);
      this.#pumpErases(); // fails the deletes still queued (the closed request layer refuses them)
      if (!(await within(nc.drain(), CLOSE_DRAIN_MS))) await nc.close().catch(() => undefined);
    }
    // A restore pass under way ends at its next step (woken from its wait above; its
    // requests fail with the connection): nothing of this bus runs after close.
    const restoring = this.#restoring;
    if (restoring !== null) await within(restoring, CLOSE_DRAIN_MS);
    this.#ready = false;
    this.#status = { state: 'closed' };
  }

  // ---- live delivery ----

  #key(routeTag: string, deviceToken: string): string {
    return `${routeTag}.${deviceToken}`;
  }

  async subscribeDevice(
    routeTag: string,
    deviceToken: string,
    onEnvelope: LiveHandler,
    onControl: ControlHandler,
  ): Promise<DeviceSubscription> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkHandlers(onEnvelope, onControl);
    const nc = this.#reachable();
    const key = this.#key(routeTag, deviceToken);
    const { sub, entry, isNew } = this.#subs.add(key, onEnvelope, onControl);
    if (isNew) this.#attach(nc, entry, key);
    // The SUB must be at the server before the caller drains the mailbox (also when an
    // earlier subscription of this device is still waiting for its own flush). nats.js
    // sends the SUB again at a reconnect, but not a PING written while disconnected, and
    // it fails the PINGs in flight at its next attempt: then the flush is made again
    // once reconnected (#viaNats). Connected, the turn's flush is awaited as it is.
    try {
      const drops = this.#drops;
      let flushed = this.#outage === null && await this.#turnFlush(nc);
      if (!flushed) {
        // nats.js fails the PING at its reconnect attempt, a moment before this bus
        // hears of the loss (its status events come through an async iterator).
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#outage === null && this.#drops === drops) throw busUnavailable('cannot subscribe');
        await this.#viaNats(() => this.#turnFlush(nc).then((ok) => {
          if (!ok) throw busUnavailable('cannot subscribe');
        }), this.#drops === drops);
      }
    } catch (e) {
      await sub.close();
      throw e;
    }
    return sub;
  }

  /**
   * SUBs, UNSUBs, control publishes and the PING that confirms them go to nats-server
   * once per event-loop turn. nats.js writes its buffer in a microtask, and Node runs microtasks after every
   * socket callback: each connect or disconnect of a device was its own write to
   * nats-server (and its own read there), and each subscribeDevice its own PING round
   * trip. A reconnect storm handles hundreds of devices per turn; now they share one
   * write and one PONG (a PONG answers every command sent before its PING).
   * Resolves false if nats-server did not answer within the request timeout.
   */
  #turnFlush(nc: NatsConnection): Promise<boolean> {
    const t = this.#turn;
    if (t !== null && t.nc === nc && t.done !== null) return t.done;
    const turn = this.#turnFor(nc);
    turn.done = new Promise<boolean>((resolve) => { turn.resolve = resolve; });
    return turn.done;
  }

  /** This turn's batch, scheduled on first use. */
  #turnFor(nc: NatsConnection): Turn {
    const t = this.#turn;
    if (t !== null && t.nc === nc) return t;
    const turn: Turn = { nc, pubs: [], subs: [], unsubs: [], done: null, resolve: null };
    this.#turn = turn;
    setImmediate(() => this.#runTurn(turn));
    return turn;
  }

  #runTurn(turn: Turn): void {
    if (this.#turn === turn) this.#turn = null;
    const nc = turn.nc;
    let ok = !nc.isClosed();
    // Unsubscribe first: a device that moved away and back within the turn keeps its new SUB.
    // Drained, not plainly unsubscribed (relay/bus/sub-drain.ts, one PING for the turn):
    // a locate request nats-server routed here before it saw the UNSUB still reaches
    // #onDeviceMsg and is answered "gone" (or goes to the device's newer subscription
    // here, which cannot have received it too: its SUB goes out after this UNSUB). A plain
    // unsubscribe made nats.js drop it, and the sender waited its whole live timeout before
    // storing the envelope (test/bus/nats.test.ts "as the device leaves").
    if (turn.unsubs.length > 0) void drainSubscriptions(nc, turn.unsubs);
    for (const p of turn.pubs) {
      try {
        nc.publish(p.subject, p.data);
      } catch {
        // closed or draining: control messages are fire-and-forget
      }
    }
    for (const a of turn.subs) {
      if (a.cancelled) continue;
      try {
        a.sub = nc.subscribe(this.#devPrefix + a.key, { callback: this.#onDeviceMsg });
      } catch {
        ok = false; // closed or draining: the subscribeDevice calls of this turn fail
      }
    }
    const resolve = turn.resolve;
    if (resolve === null) return;
    if (!ok) {
      resolve(false);
      return;
    }
    within(nc.flush(), this.#requestTimeoutMs).then(resolve, () => resolve(false));
  }

  /** One NATS subscription per device, shared by this bus's subscriptions to it: live
   *  requests (they carry a reply subject) and control messages (they do not) arrive on
   *  the same subject. One subscription instead of a live/control pair halves the
   *  client's per-device memory and the SUB/UNSUB work of every (re)connect. The SUB
   *  itself goes out with the turn's batch (#turnFlush). */
  #attach(nc: NatsConnection, entry: DeviceEntry, key: string): void {
    const a = new PendingSub(key, this.#queueUnsub);
    this.#turnFor(nc).subs.push(a);
    entry.release = a;
  }

  /** The UNSUB of a released device subscription goes out with the turn's batch. */
  readonly #queueUnsub = (sub: Subscription): void => {
    const cur = this.#nc;
    if (cur === null || cur.isClosed()) return;
    this.#turnFor(cur).unsubs.push(sub);
  };

  /** The message callback of every device subscription of this bus. Dispatched by key
   *  (the subject after the prefix), as before batching: a message that reaches a
   *  released subscription before its UNSUB went out goes to the device's current one. */
  readonly #onDeviceMsg = (err: Error | null, m: Msg): void => {
    if (err !== null) return;
    const subject = m.subject;
    if (!subject.startsWith(this.#devPrefix)) return;
    const key = subject.slice(this.#devPrefix.length);
    if (m.reply !== undefined && m.reply !== '') {
      this.#onLive(key, m);
      return;
    }
    const msg = decodeControl(m.data);
    if (msg === null) {
      this.#malformedControl();
      return;
    }
    this.#subs.control(key, msg);
  };

  /** A control message this gateway cannot read (garbage, or a kind it does not know: a
   *  newer gateway's during a rolling upgrade) is dropped; said at most once per 10 s,
   *  with how many since the last line, so a flood of them is not a flood of lines. */
  #malformedControl(): void {
    this.#repeated.note('bus: malformed control message(s) dropped (unreadable, or a kind this gateway does not know); at most one line per 10 s');
  }

  #onLive(key: string, m: Msg): void {
    this.#live?.onDeviceRequest(key, m);
  }

  async deliverLive(routeTag: string, deviceToken: string, envelope: Uint8Array, timeoutMs: number): Promise<boolean> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkEnvelope(envelope, this.#limits);
    const ms = checkTimeout(timeoutMs);
    this.#conn();
    const key = routeTag + '.' + deviceToken;
    if (this.#unreachableLive(key)) return false;
    return (this.#live as LiveRouter).deliver(key, envelope, ms);
  }

  offerLive(to: Recipient, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void {
    checkRecipient(to);
    checkEnvelope(envelope, this.#limits);
    const ms = checkTimeout(timeoutMs);
    this.#conn();
    if (this.#unreachableLive(to.key)) {
      queueMicrotask(() => done(false));
      return;
    }
    (this.#live as LiveRouter).offer(to.key, envelope, ms, done);
  }

  /** A device held elsewhere cannot be reached while NATS is lost: not delivered at once,
   *  not after the live timeout (nats.js would drop the request unsent, #onDrop). The
   *  caller then stores the envelope, which waits for the reconnect within the grace and
   *  fails UNAVAILABLE at once past it. One held by this bus still is: that needs no NATS. */
  #unreachableLive(key: string): boolean {
    return this.#outage !== null && this.#subs.live(key) === undefined;
  }

  async publishControl(routeTag: string, deviceToken: string, msg: ControlMessage): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    const m = checkControl(msg);
    const nc = this.#conn();
    // With the turn's SUBs, before them: a kick a session sends just before it
    // subscribes is not delivered back to its own new subscription. No reply subject:
    // that is what tells a control message from a live request.
    const subject = this.#devPrefix + routeTag + '.' + deviceToken;
    this.#publishInTurn(nc, subject, encodeControl(m));
    if (m.kind === 'kick') {
      if (m.connection !== '') this.#noteKick(nc, this.#key(routeTag, deviceToken), m.connection);
      return;
    }
    if (m.kind !== 'unregistered') return;
    // Announced to every gateway after the device's own message (Bus.publishControl),
    // and both published again after a reconnect until a PONG confirms them.
    const key = this.#key(routeTag, deviceToken);
    this.#publishInTurn(nc, this.#unregSubject, te.encode(key));
    const losses = this.#losses;
    if (setNewest(this.#unconfirmed, key, losses, MAX_UNCONFIRMED_UNREGISTERED)) {
      this.#repeated.note('bus: too many unconfirmed unregistered messages; the oldest is not published again after a reconnect');
    }
    void this.#turnFlush(nc).then((ok) => {
      if (ok && this.#losses === losses && this.#unconfirmed.get(key) === losses) this.#unconfirmed.delete(key);
    });
  }

  /** A kick kept until a PONG after it confirms that nats-server has it (published while
   *  disconnected, or just before a loss: nats.js dropped it), for #publishUnconfirmed. */
  #noteKick(nc: NatsConnection, key: string, connection: string): void {
    const losses = this.#losses;
    if (setNewest(this.#unconfirmedKicks, key, { connection, losses }, MAX_UNCONFIRMED_KICKS)) {
      this.#repeated.note('bus: too many unconfirmed kicks; the oldest is not published again after a reconnect');
    }
    void this.#turnFlush(nc).then((ok) => {
      const k = this.#unconfirmedKicks.get(key);
      if (ok && this.#losses === losses && k !== undefined && k.losses === losses && k.connection === connection) this.#unconfirmedKicks.delete(key);
    });
  }

  #publishInTurn(nc: NatsConnection, subject: string, data: Uint8Array): void {
    const turn = this.#turnFor(nc);
    if (turn.pubs.length < MAX_TURN_PUBS) {
      turn.pubs.push({ subject, data });
      return;
    }
    try {
      nc.publish(subject, data); // a full turn: at once, not dropped
    } catch (e) {
      throw busUnavailable('cannot publish control message', e);
    }
  }

  // ---- mailbox ----

  async mailboxPut(routeTag: string, deviceToken: string, id: string, envelope: Uint8Array): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkEnvelopeId(id);
    checkEnvelope(envelope, this.#limits);
    this.#mailboxConn();
    const js = this.#js as JetStreamClient;
    try {
      const shard = this.#shardOf(routeTag);
      const subject = this.#mboxPrefixes[shard] + routeTag + '.' + deviceToken;
      const msgID = natsMsgId(this.#msgIdKey, routeTag, deviceToken, id);
      const put = (): Promise<unknown> => js.publish(subject, envelope, {
        msgID,
        expect: { streamName: this.#streams[shard] as string },
        timeout: this.#requestTimeoutMs,
      });
      // Repeated after a lost connection: the same Nats-Msg-Id, stored once. And once
      // after nats.js's own deadline fired late (late-timer.ts): its answer may be unread.
      await this.#viaNats(() => onceMoreIfLate(this.#requestTimeoutMs, put), true);
    } catch (e) {
      if (e instanceof NatsLost) throw e; // the connection lost past the grace
      const mapped = this.#mapPutError(e);
      // A full mailbox or an oversize envelope is the message's answer, not the store failing.
      if (mapped.code === ErrorCode.UNAVAILABLE && this.#status.state === 'connected' && !this.#closed) {
        this.#storeEpisodes.failed(failureReason(e));
      }
      throw mapped;
    }
    this.#storeEpisodes.works();
  }

  #mapPutError(e: unknown): HushwireError {
    const text = errText(e);
    if (e instanceof JetStreamApiError) {
      if (text.includes('maximum messages per subject exceeded')) {
        return new HushwireError(ErrorCode.MAILBOX_FULL, 'mailbox full', { cause: e });
      }
      if (text.includes('message size exceeds maximum')) {
        return new HushwireError(ErrorCode.TOO_LARGE, 'envelope too large', { cause: e });
      }
      this.#log('warn', 'bus: mailbox store refused a message', { code: e.code });
      return busUnavailable('mailbox store refused the message', e);
    }
    return busUnavailable('mailbox store unavailable', e);
  }

  async mailboxRead(routeTag: string, deviceToken: string, afterSeq: number, max: number): Promise<MailboxItem[]> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkSeq(afterSeq);
    const n = checkMax(max);
    const nc = this.#mailboxConn();
    if (n === 0) return [];
    if (this.#readsInFlight >= MAX_READS_IN_FLIGHT) throw busUnavailable('too many mailbox reads in flight');
    this.#readsInFlight++;
    try {
      const shard = this.#shardOf(routeTag);
      const subject = this.#mboxPrefixes[shard] + routeTag + '.' + deviceToken;
      // A read in flight when the connection drops is read again once reconnected (its
      // reader was dropped with the connection: #dropAllCursors).
      if (this.#outage === null) {
        const drops = this.#drops;
        try {
          return await this.#read(nc, shard, subject, afterSeq, n);
        } catch (e) {
          if (this.#drops === drops) throw e;
          return await this.#viaNats(() => this.#read(this.#conn(), shard, subject, afterSeq, n), false);
        }
      }
      return await this.#viaNats(() => this.#read(this.#conn(), shard, subject, afterSeq, n), true);
    } finally {
      this.#readsInFlight--;
    }
  }

  // The read is split so that the usual one, an empty mailbox at authentication, goes
  // through no async function: each call of one allocates its frame and promise (a
  // reconnect's garbage, docs/BENCHMARKS.md).
  #read(nc: NatsConnection, shard: number, subject: string, afterSeq: number, n: number): Promise<MailboxItem[]> {
    const cached = this.#cursors.get(subject);
    if (cached !== undefined && !cached.busy && cached.position === afterSeq && Date.now() - cached.usedAt < this.#readerIdleMs) {
      return this.#readOnCursor(nc, shard, subject, cached, afterSeq, n);
    }
    return this.#readUncached(nc, shard, subject, afterSeq, n);
  }

  /** The drain loop's next page, on the consumer we already have. */
  async #readOnCursor(nc: NatsConnection, shard: number, subject: string, cached: Cursor, afterSeq: number, n: number): Promise<MailboxItem[]> {
    this.#cursors.delete(subject);
    this.#cursors.set(subject, cached);
    if (cached.pending > 0) return this.#pull(nc, cached, Math.min(n, cached.pending));
    // It had delivered everything it knew of: ask whether anything arrived since.
    cached.busy = true;
    let pending: number | null;
    try {
      pending = await this.#consumerPending(shard, cached.name);
    } finally {
      cached.busy = false; // from here to #pull (which sets it again) is synchronous
    }
    if (pending !== null && this.#cursors.get(subject) === cached) {
      if (pending === 0) {
        // The drain is done; its next one starts from 0 on a fresh reader. An idle
        // consumer only costs nats-server (it is checked on every store to the stream).
        this.#dropCursor(cached);
        return [];
      }
      cached.pending = pending;
      cached.usedAt = Date.now();
      return this.#pull(nc, cached, Math.min(n, pending));
    }
    // gone on the server (or replaced meanwhile): a fresh consumer
    return this.#readUncached(nc, shard, subject, afterSeq, n);
  }

  /** Most reads find an empty mailbox (every authentication reads once): one direct get
   *  of the subject's last message answers that without creating a consumer, which cost
   *  nats-server and the gateway far more (a reconnect storm is mostly this; see
   *  docs/BENCHMARKS.md). */
  #readUncached(nc: NatsConnection, shard: number, subject: string, afterSeq: number, n: number): Promise<MailboxItem[]> {
    return this.#mayHaveAfter(shard, subject, afterSeq)
      .then((may) => (may ? this.#readOnNewCursor(nc, shard, subject, afterSeq, n) : []));
  }

  async #readOnNewCursor(nc: NatsConnection, shard: number, subject: string, afterSeq: number, n: number): Promise<MailboxItem[]> {
    const { name, pending } = await this.#createConsumer(shard, subject, afterSeq);
    const cursor: Cursor = { shard, subject, name, position: afterSeq, pending, usedAt: Date.now(), busy: false, oneShot: false };
    const existing = this.#cursors.get(subject);
    if (existing !== undefined && existing.busy) {
      cursor.oneShot = true; // a concurrent read of the same device owns the cached one
    } else {
      if (existing !== undefined) this.#dropCursor(existing);
      this.#cacheCursor(cursor);
    }
    if (pending === 0) {
      this.#dropCursor(cursor);
      return [];
    }
    return this.#pull(nc, cursor, Math.min(n, pending));
  }

  /** false when the device's mailbox surely holds nothing after `afterSeq`. One direct
   *  get of the subject's last message (through ApiRequests: nats.js's direct.getMessage
   *  costs a request() each, and every authentication makes one). */
  #mayHaveAfter(shard: number, subject: string, afterSeq: number): Promise<boolean> {
    if (this.#mailboxReplicated) return this.#mayHaveAfterOnLeader(shard, subject, afterSeq);
    return (this.#api as ApiRequests).lastMessage(this.#streams[shard] as string, subject, false).then((m) => {
      if (m === null) return false; // no message on the subject
      if (afterSeq === 0) return true; // a first read: any message is after 0 (no header to parse)
      const seq = Number(m.headers?.get('Nats-Sequence'));
      if (!Number.isSafeInteger(seq)) throw busUnavailable('mailbox store unavailable', new Error('direct get without a sequence'));
      return seq > afterSeq;
    });
  }

  /** #mayHaveAfter for replicated mailbox streams, asked of the stream leader. A direct
   *  get may be answered by any replica, and nats-server before 2.9.17 (Debian ships
   *  2.9.10) lets a replica that has not caught up answer "no message": after a node loss
   *  a device could then be told its mailbox is empty while it is not, and its mail would
   *  wait for its next connection (seen in test/faults/nats-cluster.test.ts). */
  async #mayHaveAfterOnLeader(shard: number, subject: string, afterSeq: number): Promise<boolean> {
    const last = await this.#lastOnLeader(this.#streams[shard] as string, subject, 'mailbox store unavailable');
    return last !== null && last.seq > afterSeq;
  }

  /** A subject's last message as the stream's leader has it (`STREAM.MSG.GET`, answered
   *  by the leader only, unlike a direct get), or null when the subject holds none.
   *  `hdrs` and `data` are base64, as the API sends them. */
  async #lastOnLeader(stream: string, subject: string, what: string, cls: RequestClass = 'other'): Promise<{ seq: number; hdrs?: unknown; data?: unknown } | null> {
    const res = await this.#jsApi<{ message?: { seq?: unknown; hdrs?: unknown; data?: unknown } }>(
      `$JS.API.STREAM.MSG.GET.${stream}`, `{"last_by_subj":"${subject}"}`, what, cls);
    if (res.error !== undefined) {
      if (res.error.err_code === 10037) return null; // no message on the subject
      throw busUnavailable(what, new Error(`stream msg get: ${res.error.err_code ?? res.error.code ?? 0}`));
    }
    const seq = Number(res.message?.seq);
    if (!Number.isSafeInteger(seq) || seq <= 0) throw busUnavailable(what, new Error('stream msg get without a sequence'));
    return { seq, hdrs: res.message?.hdrs, data: res.message?.data };
  }

  /** A JetStream API request on the bus's request layer; its JSON answer (fields `T`,
   *  or `error`). An answer that is not JSON is UNAVAILABLE. */
  async #jsApi<T = { name?: string; num_pending?: number }>(subject: string, body: string, what = 'mailbox store unavailable', cls: RequestClass = 'other'): Promise<T & JsApiError> {
    const data = await (this.#api as ApiRequests).request(subject, body === '' ? EMPTY : te.encode(body), cls);
    try {
      return JSON.parse(td.decode(data)) as T & JsApiError;
    } catch (e) {
      throw busUnavailable(what, e);
    }
  }

  /** A reader of the device's subject from `afterSeq`, named by this bus (`name` in the
   *  config of the ephemeral create, honoured since nats-server 2.9): a create whose
   *  answer does not come (timed out, connection lost, the bus closing) may still have
   *  made it, and is deleted by that name. */
  async #createConsumer(shard: number, subject: string, afterSeq: number): Promise<{ name: string; pending: number }> {
    const stream = this.#streams[shard] as string;
    const asked = this.#readerPrefix + (++this.#readerSeq).toString(36);
    const body = `{"stream_name":"${stream}","config":{"name":"${asked}","ack_policy":"none","deliver_policy":"by_start_sequence",`
      + `"opt_start_seq":${afterSeq + 1},"filter_subject":"${subject}","mem_storage":true,"num_replicas":1,`
      + `"inactive_threshold":${CONSUMER_INACTIVE_MS * 1_000_000}}}`;
    this.#creating.set(asked, shard);
    let info;
    try {
      info = await this.#jsApi(`$JS.API.CONSUMER.CREATE.${stream}`, body);
    } catch (e) {
      this.#deleteConsumer(shard, asked); // made or not: its answer never came
      throw e;
    } finally {
      this.#creating.delete(asked);
    }
    if (this.#closed && typeof info.name === 'string') {
      this.#deleteConsumer(shard, info.name); // answered after close sent its deletes
      throw busUnavailable('bus closed');
    }
    if (info.error !== undefined || typeof info.name !== 'string' || typeof info.num_pending !== 'number') {
      this.#log('warn', 'bus: cannot create mailbox reader', { code: info.error?.err_code ?? 0 });
      throw busUnavailable('mailbox store unavailable', new Error(info.error?.description ?? 'bad consumer create response'));
    }
    return { name: info.name, pending: info.num_pending };
  }

  /** num_pending of a consumer we made, or null if it no longer exists. */
  async #consumerPending(shard: number, name: string): Promise<number | null> {
    const info = await this.#jsApi(`$JS.API.CONSUMER.INFO.${this.#streams[shard] as string}.${name}`, '');
    if (info.error !== undefined) {
      if (info.error.err_code === 10014) return null; // consumer not found
      throw busUnavailable('mailbox store unavailable', new Error(info.error.description ?? 'consumer info failed'));
    }
    return typeof info.num_pending === 'number' ? info.num_pending : null;
  }

  /**
   * A pull's deadline came. A timer that comes due while the event loop is held up (a
   * loaded machine: a long callback, the process descheduled) runs at the start of the
   * loop's next turn, before the I/O that arrived meanwhile is read: the answer that
   * ends the pull (its messages, or the 408 of a page whose messages vanished, sent
   * pullExpiresNs after the request, well within the deadline) may be waiting unread,
   * and failing at once said 'mailbox read timed out' for a read the store had answered
   * (the contract's 'a page whose messages were deleted meanwhile', under load). The
   * pull fails only if nothing ended it once that I/O was read: setImmediate runs after
   * the turn's poll phase.
   */
  #pullDeadline(pull: Pull): void {
    setImmediate(() => {
      if (this.#pullsByToken.get(pull.token) === pull) this.#failPull(pull, busUnavailable('mailbox read timed out'));
    });
  }

  /** Pulls `want` messages that the consumer reported pending. `no_wait` alone can hang
   *  on 2.9 when a pending message vanishes (deleted/expired) before delivery, so the
   *  request also expires; a short page then ends with a 408. */
  #pull(nc: NatsConnection, cursor: Cursor, want: number): Promise<MailboxItem[]> {
    return new Promise<MailboxItem[]>((resolve, reject) => {
      cursor.busy = true;
      const token = String(++this.#pullSeq);
      const pull: Pull = {
        cursor, want, items: [], pending: 0, token, resolve, reject,
        timer: setTimeout(() => this.#pullDeadline(pull), this.#requestTimeoutMs),
      };
      this.#pullsByConsumer.set(cursor.name, pull);
      this.#pullsByToken.set(token, pull);
      try {
        nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.#streams[cursor.shard] as string}.${cursor.name}`,
          te.encode(`{"batch":${want},"no_wait":true,"expires":${this.#pullExpiresNs}}`), { reply: this.#readInbox + token });
      } catch (e) {
        this.#failPull(pull, busUnavailable('mailbox store unavailable', e));
      }
    });
  }

  /** Messages and status replies for every pull arrive on the read inbox. */
  #onReadMsg(m: Msg): void {
    const reply = m.reply;
    const ack = this.#ack;
    if (reply !== undefined && readAckReply(reply, ack)) {
      const pull = this.#pullsByConsumer.get(ack.consumer);
      // Consumer names are random per stream; a (vanishingly unlikely) namesake in
      // another shard must not feed this pull.
      if (pull === undefined || !ackStreamIs(reply, ack, this.#streams[pull.cursor.shard] as string)) return;
      pull.pending = ack.pending;
      pull.items.push({ seq: ack.seq, data: m.data });
      this.#rememberSeq(pull.cursor.shard, ack.seq, pull.cursor.subject);
      if (pull.items.length >= pull.want) this.#finishPull(pull);
      return;
    }
    const token = m.subject.slice(this.#readInbox.length);
    const pull = this.#pullsByToken.get(token);
    if (pull === undefined) {
      if (token !== PROBE_TOKEN) return;
      // #probe's: counted, and answered when it is its request (nats.js's request mux).
      this.#readProbes++;
      if (reply !== undefined && reply !== '') m.respond(EMPTY);
      return;
    }
    const code = m.headers?.code ?? 0;
    if (code === 404 || code === 408) {
      this.#finishPull(pull); // no (more) messages
    } else if (code !== 100) {
      this.#failPull(pull, busUnavailable('mailbox read failed', new Error(`status ${code} ${m.headers?.description ?? ''}`)));
    }
  }

  #unlinkPull(pull: Pull): void {
    clearTimeout(pull.timer);
    if (this.#pullsByConsumer.get(pull.cursor.name) === pull) this.#pullsByConsumer.delete(pull.cursor.name);
    this.#pullsByToken.delete(pull.token);
    pull.cursor.busy = false;
  }

  #finishPull(pull: Pull): void {
    this.#unlinkPull(pull);
    const c = pull.cursor;
    const items = pull.items;
    if (items.length > 0) c.position = (items[items.length - 1] as MailboxItem).seq;
    // A full page knows what is left; a short one (messages vanished) re-asks next time.
    c.pending = items.length === pull.want && Number.isSafeInteger(pull.pending) ? pull.pending : 0;
    c.usedAt = Date.now();
    if (c.oneShot) this.#deleteConsumer(c.shard, c.name);
    pull.resolve(items);
  }

  #failPull(pull: Pull, e: HushwireError): void {
    this.#unlinkPull(pull);
    this.#dropCursor(pull.cursor);
    pull.reject(e);
  }

  #cacheCursor(c: Cursor): void {
    this.#cursors.set(c.subject, c);
    this.#armReaderSweep();
    if (this.#cursors.size <= CURSOR_CACHE_MAX) return;
    for (const old of this.#cursors.values()) {
      if (!old.busy) {
        this.#dropCursor(old);
        break;
      }
    }
  }

  /** Forgets a cursor and deletes its consumer (unless a pull still uses it). */
  #dropCursor(c: Cursor): void {
    if (this.#cursors.get(c.subject) === c) this.#cursors.delete(c.subject);
    if (!c.busy) this.#deleteConsumer(c.shard, c.name);
    else c.oneShot = true;
  }

  /** Forgets every cursor and fails the pulls in flight; their readers become orphans,
   *  deleted by #deleteOrphanReaders (after a reconnect, at close). */
  #dropAllCursors(): void {
    for (const pull of [...this.#pullsByToken.values()]) {
      this.#unlinkPull(pull);
      this.#keepOrphanReader(pull.cursor.name, pull.cursor.shard); // a one-shot reader is not cached
      pull.reject(busUnavailable('NATS connection lost'));
    }
    for (const c of this.#cursors.values()) this.#keepOrphanReader(c.name, c.shard);
    this.#cursors.clear();
  }

  /** Deletes a reader on the server. One that cannot be deleted now (not connected, the
   *  delete failed or timed out) is kept as an orphan and deleted later. `done` is
   *  called once the delete was answered or given up for now. */
  #deleteConsumer(shard: number, name: string, done?: () => void): void {
    this.#orphanReaders.delete(name);
    const api = this.#api;
    const nc = this.#nc;
    if (api === null || nc === null || nc.isClosed() || this.#status.state !== 'connected') {
      this.#keepOrphanReader(name, shard);
      done?.();
      return;
    }
    api.send(`$JS.API.CONSUMER.DELETE.${this.#streams[shard] as string}.${name}`, EMPTY, (err, data) => {
      if (err !== null || !readerGone(data)) this.#keepOrphanReader(name, shard);
      done?.();
    });
  }

  #keepOrphanReader(name: string, shard: number): void {
    this.#orphanReaders.delete(name);
    this.#orphanReaders.set(name, shard);
    if (this.#orphanReaders.size > ORPHAN_READERS_MAX) {
      const oldest = this.#orphanReaders.keys().next().value;
      if (oldest !== undefined) this.#orphanReaders.delete(oldest); // the server's inactivity threshold
    }
    this.#armReaderSweep();
  }

  /** Sends a delete for every orphan reader (while connected); resolves once all are
   *  answered or failed (each request has the bus's deadline). */
  #deleteOrphanReaders(): Promise<void> {
    if (this.#orphanReaders.size === 0 || this.#status.state !== 'connected') return Promise.resolve();
    const all = [...this.#orphanReaders];
    return new Promise<void>((resolve) => {
      let left = all.length;
      const one = (): void => {
        if (--left === 0) resolve();
      };
      for (const [name, shard] of all) this.#deleteConsumer(shard, name, one);
    });
  }

  /** Runs the reader sweep while there are cached readers or orphans. */
  #armReaderSweep(): void {
    if (this.#readerTimer !== null || this.#closed) return;
    this.#readerTimer = setInterval(() => this.#sweepReaders(), Math.max(1, Math.floor(this.#readerIdleMs / 2)));
    this.#readerTimer.unref();
  }

  /** A cached reader unused for readerIdleMs can no longer be reused (#read): deleted
   *  now, not left to the server's inactivity threshold (a drain that stopped midway:
   *  its device disconnected, a read failed, the session gave up on its acks). Orphans
   *  are sent again. */
  #sweepReaders(): void {
    const now = Date.now();
    for (const c of [...this.#cursors.values()]) {
      if (!c.busy && now - c.usedAt >= this.#readerIdleMs) this.#dropCursor(c);
    }
    void this.#deleteOrphanReaders();
    if (this.#cursors.size === 0 && this.#orphanReaders.size === 0 && this.#readerTimer !== null) {
      clearInterval(this.#readerTimer);
      this.#readerTimer = null;
    }
  }

  #rememberSeq(shard: number, seq: number, subject: string): void {
    const owners = this.#seqOwner[shard] as Map<number, string>;
    owners.set(seq, subject);
    if (owners.size > this.#seqOwnerMax) {
      const oldest = owners.keys().next().value;
      if (oldest !== undefined) owners.delete(oldest);
    }
  }

  mailboxDelete(routeTag: string, deviceToken: string, seq: number): Promise<void> {
    return this.mailboxDeleteMany(routeTag, deviceToken, [seq]);
  }

  async mailboxDeleteMany(routeTag: string, deviceToken: string, seqs: readonly number[]): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkSeqs(seqs);
    this.#mailboxConn();
    if (this.#eraseQueued + seqs.length > ERASE_QUEUE_MAX) throw busUnavailable('too many mailbox deletes queued');
    const shard = this.#shardOf(routeTag);
    const stream = this.#streams[shard] as string;
    const owners = this.#seqOwner[shard] as Map<number, string>;
    const subject = this.#mboxPrefixes[shard] + routeTag + '.' + deviceToken;
    const mine: number[] = [];
    let unknown: number[] | null = null;
    for (const seq of seqs) {
      if (seq === 0) continue;
      const owner = owners.get(seq);
      if (owner === subject) {
        owners.delete(seq);
        mine.push(seq);
      } else if (owner === undefined) {
        (unknown ??= []).push(seq);
      } // else another device's message: never touch it
    }
    if (unknown !== null) {
      // Not read through this bus: check that each seq belongs to this device first.
      const jsm = this.#jsm as JetStreamManager;
      let found;
      try {
        found = await this.#viaNats(() => Promise.all(unknown.map((seq) => jsm.direct.getMessage(stream, { seq }))), true);
      } catch (e) {
        if (e instanceof NatsLost) throw e;
        throw busUnavailable('mailbox store unavailable', e);
      }
      for (const sm of found) if (sm !== null && sm.subject === subject) mine.push(sm.seq);
    }
    if (mine.length === 0) return;
    // Newest first. nats-server 2.9 keeps each subject's first seq per block; deleting
    // that first message makes it scan forward, past every other device's messages,
    // for the subject's next one. In descending order only the page's oldest item does:
    // one scan per page instead of one per message (measured on 2.9.10 with 1,000
    // devices' mail interleaved: 277-360 -> 158-215 us of nats-server CPU per erase;
    // with 100: 190 -> 182; a plain delete at 1,000: 187 -> 32).
    mine.sort((a, b) => b - a);
    await new Promise<void>((resolve, reject) => {
      this.#eraseQueue.push({ api: this.#eraseSubjects[shard] as string, seqs: mine, next: 0, left: mine.length, error: null, resolve, reject });
      this.#eraseQueued += mine.length;
      this.#pumpErases();
    });
  }

  /** Sends queued erases while the window has room, oldest call first. */
  #pumpErases(): void {
    if (this.#pumping) return; // a reply that failed synchronously, inside the loop below
    this.#pumping = true;
    try {
      this.#pumpErasesNow();
    } finally {
      this.#pumping = false;
    }
  }

  #pumpErasesNow(): void {
    const api = this.#api;
    // Within the grace of a lost connection the queue waits for the reconnect (nats.js
    // would drop the requests unsent, #onDrop); the reconnect pumps it, and so does the
    // grace's end, which fails what is queued.
    if (api !== null && this.#outage !== null && !this.#outage.failing) return;
    while (this.#erasesInFlight < ERASE_WINDOW && (this.#eraseAgain.length > 0 || this.#eraseQueue.length > 0)) {
      let b: EraseBatch;
      let seq: number;
      const again = this.#eraseAgain.length > 0;
      if (again) {
        ({ b, seq } = this.#eraseAgain.shift() as { b: EraseBatch; seq: number });
      } else {
        b = this.#eraseQueue[0] as EraseBatch;
        seq = b.seqs[b.next++] as number;
        if (b.next >= b.seqs.length) this.#eraseQueue.shift();
      }
      this.#eraseQueued--;
      this.#erasesInFlight++;
      const drops = this.#drops;
      const done = (err: Error | null, data: Uint8Array): void => {
        this.#erasesInFlight--;
        if (err !== null && !again && this.#drops !== drops && !this.#closed) {
          // In flight when the connection dropped (#onDrop fails the request pool): an
          // erase is idempotent ("already gone" is fine), so it goes again once
          // reconnected, before the queue (the pump waits for the reconnect; the grace's
          // end fails it). A second loss fails it.
          this.#eraseAgain.push({ b, seq });
          this.#eraseQueued++;
          if (this.#erasesInFlight <= ERASE_REFILL_AT) this.#pumpErases();
          return;
        }
        if (err === null) {
          // {"success":true}, or an error; two of them mean already gone.
          const text = td.decode(data);
          if (!text.includes(ERASE_OK) && !text.includes(ERASE_GONE) && !text.includes(ERASE_GONE_BEFORE)) err = busUnavailable('mailbox delete failed', new Error(text.slice(0, 200)));
        }
        if (err !== null) b.error ??= err;
        if (--b.left === 0) {
          if (b.error === null) b.resolve();
          else b.reject(b.error);
        }
        if (this.#erasesInFlight <= ERASE_REFILL_AT) this.#pumpErases();
      };
      if (api === null) done(busUnavailable('bus not started'), EMPTY);
      else if (this.#outage?.failing === true) done(natsLost(), EMPTY);
      // No `no_erase`: the bytes are overwritten on disk (nats-privacy.ts).
      else api.send(b.api, te.encode(`{"seq":${seq}}`), done);
    }
  }

  async mailboxPurge(routeTag: string, deviceToken?: string): Promise<void> {
    assertToken(routeTag);
    if (deviceToken !== undefined) assertToken(deviceToken);
    this.#mailboxConn();
    const shard = this.#shardOf(routeTag);
    const stream = this.#streams[shard] as string;
    const prefix = this.#mboxPrefixes[shard] as string;
    const filter = deviceToken === undefined ? `${prefix}${routeTag}.*` : `${prefix}${routeTag}.${deviceToken}`;
    for (const c of [...this.#cursors.values()]) {
      if (c.subject === filter || (deviceToken === undefined && c.subject.startsWith(`${prefix}${routeTag}.`))) this.#dropCursor(c);
    }
    try {
      // Erase message by message (a purge would leave the bytes on disk), then look once
      // more from where the scan ended for what a concurrent sender stored behind it
      // (this used to be a STREAM.PURGE: no purge right is needed, nats-privacy.ts).
      // Bounded by what the streams let a device hold (they may keep a larger limit than
      // this gateway's own), not by this gateway's setting alone.
      const cap = Math.max(Number.isFinite(this.#perDeviceCap) ? this.#perDeviceCap * 128 : 1_000_000, this.#limits.maxMessagesPerDevice * 128);
      const first = await this.#viaNats(() => eraseSubject(this.#reachable(), stream, filter, this.#requestTimeoutMs, cap), true);
      await this.#viaNats(() => eraseSubject(this.#reachable(), stream, filter, this.#requestTimeoutMs, cap, first.nextSeq), true);
    } catch (e) {
      if (e instanceof NatsLost) throw e;
      throw busUnavailable('mailbox store unavailable', e);
    }
  }

  /**
   * The mailboxes holding mail, shard by shard, one page of STREAM.INFO's subject list at
   * a time: nats-server (2.9 too) answers a subjects filter with at most 100,000 subjects
   * (its `limit`) from `offset`, in subject order. Before, nats.js's streams.info
   * followed every page before the first owner was yielded, holding a shard's whole
   * list (~7 MB a page) in memory. Subjects that vanish between two pages (a drained
   * mailbox, an erase) shift the next page up by as many, so each page starts a little
   * before where the last one ended (OWNERS_OVERLAP of its subjects) and what was
   * already yielded is skipped (pages are in subject order): no owner twice, and one
   * skipped only when more than the overlap vanished in between (the next sweep finds
   * it). Each page is one request with the bus's request deadline.
   */
  async *mailboxOwners(): AsyncIterable<MailboxOwner> {
    this.#reachable();
    for (let shard = 0; shard < this.#streams.length; shard++) {
      const prefix = this.#mboxPrefixes[shard] as string;
      const stream = this.#streams[shard] as string;
      let offset = 0;
      let last = '';
      for (;;) {
        const page = await this.#subjectsPage(stream, `${prefix}>`, offset);
        for (const subject of page.subjects) {
          if (subject <= last) continue; // yielded from the page before
          last = subject;
          const rest = subject.slice(prefix.length);
          const dot = rest.indexOf('.');
          const routeTag = rest.slice(0, dot);
          const deviceToken = rest.slice(dot + 1);
          if (isToken(routeTag) && isToken(deviceToken)) yield { routeTag, deviceToken };
        }
        const end = offset + page.subjects.length;
        if (page.subjects.length === 0 || end >= page.total) break;
        offset = Math.max(offset + 1, end - Math.floor(page.subjects.length * OWNERS_OVERLAP));
      }
    }
  }

  /** One page of a stream's subjects matching `filter`, in subject order, and how many
   *  there are in all. */
  async #subjectsPage(stream: string, filter: string, offset: number): Promise<{ subjects: string[]; total: number }> {
    const res = await this.#jsApi<{ total?: unknown; state?: { subjects?: Record<string, number> } }>(
      `$JS.API.STREAM.INFO.${stream}`, JSON.stringify({ subjects_filter: filter, offset }));
    if (res.error !== undefined) throw busUnavailable('mailbox store unavailable', new Error(`stream info: ${res.error.err_code ?? res.error.code}`));
    // JSON objects keep their keys' order (none is an integer), and nats-server's are sorted.
    const subjects = Object.keys(res.state?.subjects ?? {}).sort();
    const total = typeof res.total === 'number' ? res.total : offset + subjects.length;
    return { subjects, total };
  }

  // ---- directory ----

  directoryGet(routeTag: string, opts?: DirectoryReadOptions): Promise<DirectoryRecord | null> {
    try {
      assertToken(routeTag);
      this.#reachable();
    } catch (e) {
      return Promise.reject(e);
    }
    // An authentication's read may use the pool's reserve (nats-requests.ts): other
    // requests in volume (stored sends, lookups, mailbox reads) cannot starve it.
    const cls: RequestClass = opts?.authentication === true ? 'auth' : 'other';
    const fromLeader = opts?.fromLeader === true || ((cls === 'auth' || opts?.leaderIfInDoubt === true) && this.#directoryInDoubt());
    // Connected, the usual read: as it is, read again once reconnected should the
    // connection drop meanwhile. Otherwise through #viaNats: a lost connection is waited
    // for (UNAVAILABLE once it outlasts the grace), a read it drops is made again.
    if (this.#outage === null && this.#directoryDirect && !(fromLeader && this.#directoryReplicated)) return this.#directoryDirectGet(routeTag, cls, true);
    return this.#viaNats(() => this.#directoryRead(routeTag, cls, fromLeader), true);
  }

  /** Beats of another gateway were found lost (relay/bus/peer-beats.ts), and no read at
   *  the directory's leader has got an answer since: the node this bus is connected to
   *  may be cut off from the rest of the cluster, its replica of the directory as old as
   *  the cut (nats-server 2.9.10 still answers direct gets from it, for as long as the
   *  cut lasts), and the announcements of removals made meanwhile lost with the route.
   *  An authentication's reads are then made at the leader (directoryGet): an opted-out
   *  device logging in here is refused (AUTH_FAILED) if the leader answers, UNAVAILABLE
   *  if it cannot be reached (the cut), rather than given a session, and mail, until the
   *  route is back (test/privacy/optout-route-cut-login.test.ts). So are the reads that
   *  tell whether a device is registered (DirectoryReadOptions.leaderIfInDoubt: lookups,
   *  a send's check before it stores): a lookup of the opted-out device is refused
   *  UNAVAILABLE rather than answered with it (optout-route-cut-lookup.test.ts). The
   *  first answer from the leader ends it: a peer that died costs one leader read. */
  #directoryInDoubt(): boolean {
    return this.#beats.foundAt > this.#leaderAnsweredFrom;
  }

  #directoryRead(routeTag: string, cls: RequestClass, fromLeader: boolean): Promise<DirectoryRecord | null> {
    if (fromLeader && this.#directoryDirect && this.#directoryReplicated) return this.#directoryWatch(this.#directoryGetOnLeader(routeTag, cls));
    if (!this.#directoryDirect) return this.#directoryWatch(this.#directoryGetByKv(routeTag));
    return this.#directoryDirectGet(routeTag, cls, false);
  }

  /** Every authentication reads the directory once: one direct get of the key's last
   *  revision, as the KV client does, without its per-request overhead (nats-requests.ts
   *  lastMessage), and through a continuation rather than an async frame. `again`: made
   *  once more once reconnected if the connection drops before the answer (the request
   *  pool fails what is in flight then), instead of failing. */
  #directoryDirectGet(routeTag: string, cls: RequestClass, again: boolean): Promise<DirectoryRecord | null> {
    const drops = this.#drops;
    return (this.#api as ApiRequests).lastMessage(`KV_${this.#bucket}`, `$KV.${this.#bucket}.${routeTag}`, true, cls).then((m) => {
      this.#directoryEpisodes.works();
      if (m === null) return null;
      if (m.data.length === 0) {
        // Delete markers have no body (entries always have one: checkDirectoryValue).
        const op = m.headers?.get('KV-Operation') ?? '';
        if (op === 'DEL' || op === 'PURGE') return null; // a delete marker: no entry
      }
      return new DirectGetRecord(m);
    }, (err: unknown) => {
      if (again && this.#drops !== drops) return this.#viaNats(() => this.#directoryDirectGet(routeTag, cls, false), false);
      this.#directoryFailed(err);
      throw busUnavailable('directory unavailable', err);
    });
  }

  #directoryWatch<T>(p: Promise<T>): Promise<T> {
    return p.then((r) => {
      this.#directoryEpisodes.works();
      return r;
    }, (e: unknown) => {
      this.#directoryFailed(e);
      throw e;
    });
  }

  /** A directory read failed: every authentication, registration and discovery reads the
   *  directory, and they failed UNAVAILABLE ('directory unavailable') with nothing in the
   *  log (seen while a node of a 3-node cluster restarted). Said while connected only (a
   *  NATS outage has its own lines). */
  #directoryFailed(e: unknown): void {
    if (this.#status.state !== 'connected' || this.#closed) return;
    this.#directoryEpisodes.failed(failureReason(e));
  }

  /** The bucket was made without direct gets (an older deployment's): through the KV client. */
  async #directoryGetByKv(routeTag: string): Promise<DirectoryRecord | null> {
    let e;
    try {
      const kv = this.#kv as KV;
      e = await onceMoreIfLate(this.#requestTimeoutMs, () => kv.get(routeTag));
    } catch (err) {
      throw busUnavailable('directory unavailable', err);
    }
    if (e === null || e.operation !== 'PUT') return null;
    return { value: e.value, revision: e.revision };
  }

  /** directoryGet asked of the KV stream's leader (`STREAM.MSG.GET`, as the KV client
   *  reads a bucket without direct gets): see Bus.directoryGet. */
  async #directoryGetOnLeader(routeTag: string, cls: RequestClass): Promise<DirectoryRecord | null> {
    const sentAt = this.#unregistered.mark();
    const r = await this.#kvOnLeader(this.#bucket, routeTag, 'directory unavailable', cls);
    if (sentAt > this.#leaderAnsweredFrom) this.#leaderAnsweredFrom = sentAt;
    return r === null || r.value === null ? null : { value: r.value, revision: r.revision };
  }

  /** A KV key's last revision as the bucket stream's leader has it (the bus's request
   *  layer, whose deadline a held loop does not fail: nats-requests.ts); `value` null for
   *  a delete or purge marker. */
  async #kvOnLeader(bucket: string, key: string, what: string, cls: RequestClass = 'other'): Promise<{ value: Uint8Array | null; revision: number } | null> {
    const m = await this.#lastOnLeader(`KV_${bucket}`, `$KV.${bucket}.${key}`, what, cls);
    if (m === null) return null;
    if (typeof m.hdrs === 'string' && m.hdrs !== '') {
      let op = '';
      try {
        op = MsgHdrsImpl.decode(Buffer.from(m.hdrs, 'base64')).get('KV-Operation');
      } catch (e) {
        throw busUnavailable(what, e);
      }
      if (op === 'DEL' || op === 'PURGE') return { value: null, revision: m.seq }; // a delete marker: no entry
    }
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'base64') : Buffer.alloc(0);
    return { value: new Uint8Array(data.buffer, data.byteOffset, data.length), revision: m.seq };
  }

  /**
   * A compare-and-set write of `value` to `key` of KV `bucket` over `expectedRevision`
   * (0: a create) whose nats.js deadline fired late (late-timer.ts): the store's answer
   * may have been there, unread, so it may have landed. Decided on what the bucket's
   * leader holds now: `value` at a later revision is the write landed (that revision; a
   * write of the same bytes by another gateway leaves the entry as this one would); the
   * expected revision still the last (none, for a create) is the write not landed: made
   * once more (`write`); anything else is another write first: a conflict (null), which
   * the callers answer by reading again, as after any. `replaced`: the expected revision
   * is no longer the last (the directory erases it: a write of ours that landed and was
   * then written over left it on disk). A read that fails gives `e`, the write's failure.
   * The directory's (directoryPut): its writes set an entry, and the entry as this write
   * wants it is that, whoever wrote it. Not the counters': their writes count, and two
   * that write the same bytes are two charges (counterPut decides by Nats-Msg-Id).
   */
  async #decideLateWrite(bucket: string, key: string, value: Uint8Array, expectedRevision: number, write: () => Promise<number | null>, e: unknown, replaced?: () => Promise<void>): Promise<number | null> {
    let now: { value: Uint8Array | null; revision: number } | null;
    try {
      now = await this.#kvOnLeader(bucket, key, 'store unavailable');
    } catch {
      throw e;
    }
    const last = now === null || now.value === null ? 0 : now.revision;
    if (last === expectedRevision) return write();
    if (now !== null && now.value !== null && now.revision > expectedRevision && Buffer.compare(now.value, value) === 0) return now.revision;
    if (expectedRevision !== 0 && replaced !== undefined) await replaced();
    return null;
  }

  async directoryPut(routeTag: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    assertToken(routeTag);
    checkDirectoryValue(value);
    checkRevision(expectedRevision);
    this.#reachable();
    const kv = this.#kv as KV;
    const write = (): Promise<number> => (expectedRevision === 0 ? kvCreate(kv, routeTag, value) : kv.update(routeTag, value, expectedRevision));
    // The replaced revision (its stream seq) is erased, not left on disk.
    const eraseReplaced = (): Promise<void> => this.#viaNats(() => eraseSeq(this.#conn(), `KV_${this.#bucket}`, expectedRevision, this.#requestTimeoutMs), true)
      .catch((e: unknown) => this.#log('warn', 'bus: could not erase a replaced directory revision', { error: errText(e) }));
    let rev: number | null;
    try {
      // Not repeated after a lost connection: it may have been applied (then NatsLost).
      // After nats.js's deadline fired late, decided on a read (#decideLateWrite).
      rev = await this.#viaNats(() => onceMoreIfLate(this.#requestTimeoutMs, write,
        (e) => this.#decideLateWrite(this.#bucket, routeTag, value, expectedRevision, write, e, eraseReplaced)), false);
    } catch (e) {
      if (e instanceof NatsLost || e instanceof WriteOutcomeUnknown) throw e;
      const code = jsErrCode(e);
      // 10071 wrong last sequence / 10164 unknown last sequence: a revision conflict
      if (code === 10071 || code === 10164) return null;
      throw busUnavailable('directory unavailable', e);
    }
    if (rev !== null && expectedRevision !== 0) await eraseReplaced();
    return rev;
  }

  async directoryDelete(routeTag: string, expectedRevision?: number): Promise<boolean> {
    assertToken(routeTag);
    if (expectedRevision !== undefined) checkDeleteRevision(expectedRevision);
    this.#reachable();
    if (expectedRevision !== undefined) {
      // JetStream has no "erase if the last revision is N". So a compare-and-set write of
      // an empty entry (no devices, no bytes) first: it fails when another gateway wrote
      // since, and erases the revision it replaces (directoryPut). Then that empty
      // revision is erased by its sequence. A writer that read the empty entry and wrote
      // on top of it meanwhile keeps its revision (only ours is erased); one that read it
      // and writes after the erase conflicts (its expected revision is gone) and re-reads.
      // Should the erase fail, the empty entry reads as a route with no devices, and the
      // caller's retry deletes it again (by its revision). An erase lost with the
      // connection (a second loss, or one past the grace) fails WriteOutcomeUnknown, as a
      // write in flight at a loss does: the removals read again once reconnected, find
      // the entry with no devices and delete it again (relay/directory.ts removeDevice,
      // relay/privacy/devices.ts editDevices' retryLost).
      const rev = await this.directoryPut(routeTag, new Uint8Array(0), expectedRevision);
      if (rev === null) return false;
      try {
        await this.#viaNats(() => eraseSeq(this.#reachable(), `KV_${this.#bucket}`, rev, this.#requestTimeoutMs), true);
      } catch (e) {
        if (e instanceof NatsLost) throw writeLost();
        throw busUnavailable('directory unavailable', e);
      }
      return true;
    }
    try {
      // Erase every revision of the key (no purge marker, no bytes left on disk).
      await this.#viaNats(() => eraseSubject(this.#reachable(), `KV_${this.#bucket}`, `$KV.${this.#bucket}.${routeTag}`, this.#requestTimeoutMs, 64), true);
    } catch (e) {
      if (e instanceof NatsLost) throw e;
      throw busUnavailable('directory unavailable', e);
    }
    return true;
  }

  /** The directory's keys, as the KV client's ordered consumer delivers them. Each wait
   *  for the next key has the request deadline: a server that stops delivering (stalled,
   *  or gone while nats.js reconnects) fails the listing UNAVAILABLE instead of holding
   *  its caller (the idle sweep, and through it a gateway's close) as long as it lasts
   *  (test/bus/directory-keys-stall.test.ts). That deadline is under the late-timer rule
   *  (late-timer.ts withLateTimeout): one that fired late, the event loop held up past it
   *  with the next keys in the socket unread, waits once more instead of ending the
   *  sweep's listing with a spurious UNAVAILABLE (test/bus/directory-keys-late.test.ts).
   *  Stopping early stops the consumer. Left: nats.js's kv.keys() also ends the listing
   *  (done, no error) at an idle heartbeat of its consumer (nats-server delivered nothing
   *  for 5 s), which it takes for the end (a last key erased before its delivery never
   *  comes with "0 pending"); one mid-listing would end it early unseen. Not seen here: a
   *  7 s hold of the event loop and a 7 s stall of nats-server (request deadline 10 s,
   *  100,000 and 200,000 keys) listed every key. */
  async *directoryKeys(): AsyncIterable<string> {
    this.#reachable();
    let keys: AsyncIterable<string> & { stop(): void };
    try {
      // Its ordered consumer's create and info (nats.js requests), made once more when
      // nats.js's deadline fired late (late-timer.ts): a listing is a read. Measured from
      // the first request, a second one's timeout counts as late when the first took
      // LATE_TIMEOUT_MS or more: at worst one more try, never a spurious failure.
      const kv = this.#kv as KV;
      keys = await onceMoreIfLate(this.#requestTimeoutMs, () => kv.keys());
    } catch (e) {
      throw busUnavailable('directory unavailable', e);
    }
    const it = keys[Symbol.asyncIterator]();
    try {
      for (;;) {
        const r = await withLateTimeout(it.next(), this.#requestTimeoutMs, null);
        if (r === null) throw busUnavailable('directory listing stalled: NATS delivered no key within the request timeout');
        if (r.done === true) return;
        if (isToken(r.value)) yield r.value;
      }
    } finally {
      keys.stop();
    }
  }

  // ---- rate-limit counters ----

  async counterGet(key: string): Promise<DirectoryRecord | null> {
    checkCounterKey(key);
    this.#reachable();
    // Made once more when nats.js's deadline fired late (late-timer.ts).
    return this.#viaNats(() => this.#counterCall(() => onceMoreIfLate(this.#requestTimeoutMs, () => kvCounterGet(this.#counters as KV, key))), true);
  }

  async counterPut(key: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    checkCounterKey(key);
    checkCounterValue(value);
    checkRevision(expectedRevision);
    this.#reachable();
    // A second try of a compare-and-set write is safe: had the first been applied, the
    // second meets a newer revision and reports a conflict (null), which the caller
    // answers by reading again.
    // Not repeated after a lost connection (a compare-and-set write that may have been
    // applied): NatsLost, and the caller's handset retries. After nats.js's deadline
    // fired late (late-timer.ts), made once more with the same Nats-Msg-Id, one of this
    // write's own (kvCounterPut): stored already, it is answered as a duplicate with its
    // revision; not stored, it lands or meets another's write (null). Not decided on the
    // bytes the key holds, as the directory's are (#decideLateWrite): two gateways
    // charging one budget at once write the same bytes over the same revision, and the
    // other's write taken for this one counted one charge for two
    // (test/bus/counter-late-write.test.ts).
    const js = this.#js as JetStreamClient;
    const kv = this.#counters as KV;
    const msgId = randomBytes(16).toString('hex');
    const write = (): Promise<number | null> => kvCounterPut(js, kv, this.#counterBucket, key, value, expectedRevision, msgId, this.#requestTimeoutMs);
    return this.#viaNats(() => this.#counterCall(() => onceMoreIfLate(this.#requestTimeoutMs, write)), false);
  }
}

