// Where a NatsBus keeps things on NATS: the subject prefixes, the mailbox streams and
// the buckets, from the settings (--nats-prefix, --mailbox-shards). One function for the
// bus and for what describes it to nats-server (relay/nats-permissions-config.ts,
// `hushwire nats-permissions`), so the permissions printed are those of the subjects
// and streams the bus uses.
import { ErrorCode, HushwireError } from '../errors.ts';

export const PREFIX_RE = /^[a-z][a-z0-9_-]{0,31}$/;
export const DEFAULT_MAILBOX_SHARDS = 16;
export const MAX_MAILBOX_SHARDS = 64;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface NatsLayoutOptions {
  /** Subject prefix (default 'hw'). */
  prefix?: string;
  /** Mailbox stream name (default HW_MBOX, or <PREFIX>_MBOX for another prefix). */
  streamName?: string;
  /** Mailbox streams (default DEFAULT_MAILBOX_SHARDS). */
  mailboxShards?: number;
  /** Directory KV bucket (default <prefix>_dir). */
  bucket?: string;
}

export interface NatsLayout {
  prefix: string;
  /** Mailbox stream per shard (one stream: the base name alone). */
  streams: string[];
  /** `<prefix>.mbox.` */
  mboxRoot: string;
  /** Per shard: `<prefix>.mbox.<s>.`, or `<prefix>.mbox.` with one shard. */
  mboxPrefixes: string[];
  /** Directory bucket (its stream is KV_<bucket>). */
  bucket: string;
  /** Rate-limit counter bucket, `<prefix>_rl` (memory storage). */
  counterBucket: string;
  /** `<prefix>.dev.`: device subjects `<prefix>.dev.<routeTag>.<deviceToken>`. */
  devPrefix: string;
  /** `<prefix>.gw.`: node subjects (live envelopes batched to a gateway). */
  nodePrefix: string;
  /** `<prefix>.unreg`: every device that leaves the directory, announced to every gateway
   *  (payload `<routeTag>.<deviceToken>`; relay/bus/unregistered.ts). */
  unregSubject: string;
  /** `<prefix>.unreg.intent`: a removal about to be made, announced to every gateway
   *  before it (same payload; relay/bus/unregistered.ts announcedRemoval). */
  unregIntentSubject: string;
  /** `<prefix>.unreg.beat`: every gateway's beats, by which the others find
   *  announcements lost between NATS nodes (relay/bus/peer-beats.ts). */
  unregBeatSubject: string;
}

/** The layout for these settings; BAD_REQUEST for a bad prefix, shard count or name. */
export function natsLayout(opts: NatsLayoutOptions = {}): NatsLayout {
  const prefix = opts.prefix ?? 'hw';
  if (!PREFIX_RE.test(prefix)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'bad bus prefix');
  const shards = opts.mailboxShards ?? DEFAULT_MAILBOX_SHARDS;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_MAILBOX_SHARDS) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `mailbox shards must be 1..${MAX_MAILBOX_SHARDS}`);
  }
  const base = opts.streamName ?? (prefix === 'hw' ? 'HW_MBOX' : `${prefix.toUpperCase()}_MBOX`);
  const streams = shards === 1 ? [base] : Array.from({ length: shards }, (_, i) => `${base}_${i}`);
  const bucket = opts.bucket ?? `${prefix}_dir`;
  if (!streams.every((n) => NAME_RE.test(n)) || !NAME_RE.test(bucket)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'bad stream or bucket name');
  }
  const mboxRoot = `${prefix}.mbox.`;
  return {
    prefix,
    streams,
    mboxRoot,
    mboxPrefixes: shards === 1 ? [mboxRoot] : streams.map((_, i) => `${prefix}.mbox.${i}.`),
    bucket,
    counterBucket: `${prefix}_rl`,
    devPrefix: `${prefix}.dev.`,
    nodePrefix: `${prefix}.gw.`,
    unregSubject: `${prefix}.unreg`,
    unregIntentSubject: `${prefix}.unreg.intent`,
    unregBeatSubject: `${prefix}.unreg.beat`,
  };
}
