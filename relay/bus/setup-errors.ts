// Why the NATS bus could not start, in the three kinds a gateway acts on differently
// (gateway/bus-start.ts):
//
//   NatsUnreachable   no connection to NATS (refused, timed out, host not found): retried.
//   JetStreamNotReady connected, but the streams and buckets could not be set up yet (no
//                     JetStream leader, a request that timed out, no peers to place a
//                     replica on, JetStream not enabled): retried, and the reason is logged.
//   BusMisconfigured  this gateway's settings contradict the deployment's NATS (a mailbox
//                     laid out for another --mailbox-shards, more --nats-replicas than a
//                     single node holds, a stream NATS will not change to this layout,
//                     credentials or permissions NATS refuses, TLS that fails: a server
//                     without it while it is required, a certificate that does not
//                     verify on either side): retrying cannot fix it, so a gateway stops
//                     at start, naming the flag.
//
// All three are HushwireError UNAVAILABLE (to a client the bus is simply unavailable) with
// the original error as `cause`. Their messages and reasons carry no identifiers: flags,
// counts, stream names (HW_MBOX_3, KV_hw_dir), and JetStream's own description of a
// refused configuration; never a URL (it may hold credentials), subject of a device or key.
import { JetStreamApiError } from '@nats-io/jetstream';
import { ErrorCode, HushwireError } from '../errors.ts';
import { NatsRefused } from '../nats-connect.ts';
import { describeViolation, permissionRefusal, permissionViolation } from '../nats-permissions.ts';

export class NatsUnreachable extends HushwireError {
  /** What failed, e.g. "connection refused". */
  readonly reason: string;
  constructor(reason: string, cause: unknown) {
    super(ErrorCode.UNAVAILABLE, `cannot connect to NATS: ${reason}`, { cause, retryAfterMs: 1000 });
    this.name = 'NatsUnreachable';
    this.reason = reason;
  }
}

export class JetStreamNotReady extends HushwireError {
  /** What failed, e.g. "no suitable peers for placement (JetStream error 10005)". */
  readonly reason: string;
  constructor(reason: string, cause: unknown) {
    super(ErrorCode.UNAVAILABLE, `JetStream not ready: ${reason}`, { cause, retryAfterMs: 1000 });
    this.name = 'JetStreamNotReady';
    this.reason = reason;
  }
}

/** A NatsRefused of the bus: the same `setting` and `reason` (the flag to look at, e.g.
 *  "--mailbox-shards", and the whole explanation naming it), for what the deployment's
 *  NATS or its streams refuse of this gateway's settings. */
export class BusMisconfigured extends NatsRefused {
  constructor(setting: string, reason: string, cause?: unknown) {
    super(setting, reason, cause);
    this.name = 'BusMisconfigured';
  }
}

/** JetStream API errors a retry cannot change. */
const JS_REPLICAS_NOT_SUPPORTED = 10074; // replicas > 1 not supported in non-clustered mode
const JS_STREAM_INVALID_CONFIG = 10052;  // e.g. "stream configuration update can not change storage type"

/** A JetStream refusal of the configuration of `stream` (a mailbox stream or a bucket's
 *  stream) that retrying cannot change, as BusMisconfigured; anything else unchanged. */
export function refusedConfig(e: unknown, stream: string, replicas: number): unknown {
  if (!(e instanceof JetStreamApiError)) return e;
  if (e.code === JS_REPLICAS_NOT_SUPPORTED) {
    return new BusMisconfigured('--nats-replicas',
      `--nats-replicas ${replicas} refused by NATS for stream ${stream}: ${e.message} (a single nats-server holds one replica: use --nats-replicas 1, or a JetStream cluster of at least ${replicas} nodes)`, e);
  }
  if (e.code === JS_STREAM_INVALID_CONFIG) {
    return new BusMisconfigured('--nats-prefix',
      `NATS refused the configuration of existing stream ${stream}: ${e.message} (made differently outside Hushwire? fix or remove it, or use another --nats-prefix; docs/OPERATIONS.md)`, e);
  }
  return e;
}

/** connect() failed. NATS refusing the credentials or the TLS settings is no outage:
 *  retrying with the same settings cannot pass (relay/nats-connect.ts says which flag). */
export function connectFailed(e: unknown): HushwireError {
  if (e instanceof NatsRefused) return new BusMisconfigured(e.setting, e.reason, e);
  const name = e instanceof Error ? e.name : '';
  if (name === 'AuthorizationError') {
    return new BusMisconfigured('--nats', 'NATS refused the credentials given with --nats (authorization violation)', e);
  }
  const code = (e as { code?: unknown } | null)?.code;
  const reason = name === 'ConnectionError' ? 'connection refused'
    : name === 'TimeoutError' ? 'connection timed out'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found'
    : typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code
    : name !== '' ? name : 'unknown error';
  return new NatsUnreachable(reason, e);
}

/** Anything else that failed while setting up the streams and buckets: retried, with the
 *  reason. Only JetStream's description of an API error is kept as text (it says what the
 *  server refused, not whose data); other errors are named by their class. */
export function setupFailed(e: unknown, authBy?: string): HushwireError {
  if (e instanceof BusMisconfigured || e instanceof JetStreamNotReady || e instanceof NatsUnreachable) return e;
  const v = permissionViolation(e);
  if (v !== null) {
    // Named by the flag that gave the user (--nats-user, --nats-creds-file, ...).
    return new BusMisconfigured(permissionRefusal(v, authBy).setting, describeViolation(v, authBy), e);
  }
  let reason: string;
  if (e instanceof JetStreamApiError) reason = `${e.message} (JetStream error ${e.code})`;
  else if (e instanceof HushwireError) reason = e.message;
  else if (named(e, 'JetStreamNotEnabled')) reason = 'JetStream is not enabled on this NATS server or account';
  else if (named(e, 'TimeoutError')) reason = 'a JetStream request timed out';
  else if (named(e, 'NoResponders')) reason = 'no JetStream server answered';
  else reason = e instanceof Error ? e.name : 'unknown error';
  return new JetStreamNotReady(reason, e);
}

/** e, or the error it wraps, is of the nats.js class called `name`. */
function named(e: unknown, name: string): boolean {
  return e instanceof Error && (e.name === name || (e.cause instanceof Error && e.cause.name === name));
}
