// What NatsBus needs so that JetStream forgets what it is told to forget
// (docs/PRIVACY.md, "Opt-out that forgets" and "Metadata hygiene").
//
// - Erasing, not unreferencing. nats-server's file store leaves a deleted or purged
//   message's bytes (subject, headers, payload) in its block file until the whole block
//   is dropped; only a delete *with* erase overwrites them with random bytes (checked on
//   2.9.10: after a purge, the subject with its route tag and device token was still in
//   the .blk file). So mailbox deletes, mailbox purges and directory deletes go message
//   by message through STREAM.MSG.DELETE without `no_erase`, and the gateways never use
//   STREAM.PURGE at all (so their NATS user needs no right to it: a purge request's body
//   cannot be restricted, and `{}` empties a whole stream; docs/OPERATIONS.md, "NATS
//   permissions").
// - Rate-limit counters live in a KV bucket on *memory* storage with max_age: they are
//   never written to disk, and they vanish by themselves after their window.
// - Nats-Msg-Id is an HMAC of the envelope id, not the envelope id.
import { createHmac } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { DirectoryRecord } from './bus.ts';
import { COUNTER_MAX_VALUE_BYTES } from './counters.ts';
import { ErrorCode, HushwireError } from '../errors.ts';
import { onceMoreIfLate } from './late-timer.ts';

const te = new TextEncoder();
const td = new TextDecoder();

function unavailable(message: string, cause?: unknown): HushwireError {
  return new HushwireError(ErrorCode.UNAVAILABLE, message, { cause, retryAfterMs: 1000 });
}

// ---- erase ----

interface ApiReply {
  success?: boolean;
  message?: { seq?: number };
  error?: { code?: number; err_code?: number; description?: string };
}

/** One JetStream API request (a message get or an erase: both safe to repeat, so made
 *  once more when nats.js's deadline fired late, late-timer.ts). */
async function api(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number): Promise<ApiReply> {
  let text: string;
  try {
    const data = te.encode(JSON.stringify(body));
    const r = await onceMoreIfLate(timeoutMs, () => nc.request(subject, data, { timeout: timeoutMs }));
    text = td.decode(r.data);
  } catch (e) {
    throw unavailable('store unavailable', e);
  }
  try {
    return JSON.parse(text) as ApiReply;
  } catch (e) {
    throw unavailable('store unavailable', e);
  }
}

/** Deletes one message and overwrites its bytes on disk. Already gone = fine. */
export async function eraseSeq(nc: NatsConnection, stream: string, seq: number, timeoutMs: number): Promise<void> {
  const r = await api(nc, `$JS.API.STREAM.MSG.DELETE.${stream}`, { seq }, timeoutMs);
  // Already gone: 10057 "no message found", 10043 "sequence N not found" (deleted before:
  // by another gateway's erase, a sweep, the stream's age limit).
  if (r.success === true || r.error?.err_code === 10057 || r.error?.err_code === 10043) return;
  throw unavailable('erase failed', new Error(r.error?.description ?? 'erase failed'));
}

/**
 * Erases every message on `filter` (a subject, wildcards allowed) from `stream`, oldest
 * first from `fromSeq`, through the stream leader (STREAM.MSG.GET next_by_subj), so a
 * lagging replica cannot make it stop early. At most `max` messages (a bound on the
 * loop); returns how many it erased and the seq after the last one it looked at (where
 * a later pass over the same filter can start). Messages stored concurrently after the
 * scan passed them are not erased: callers stop new writes first.
 */
export async function eraseSubject(
  nc: NatsConnection, stream: string, filter: string, timeoutMs: number, max = 1_000_000, fromSeq = 1,
): Promise<{ erased: number; nextSeq: number }> {
  let seq = fromSeq;
  let n = 0;
  while (n < max) {
    const r = await api(nc, `$JS.API.STREAM.MSG.GET.${stream}`, { seq, next_by_subj: filter }, timeoutMs);
    if (r.error !== undefined) {
      if (r.error.err_code === 10037) return { erased: n, nextSeq: seq }; // no (more) messages on the filter
      throw unavailable('erase scan failed', new Error(r.error.description ?? 'msg get failed'));
    }
    const found = r.message?.seq;
    if (typeof found !== 'number' || !Number.isSafeInteger(found) || found < seq) {
      throw unavailable('erase scan failed', new Error('bad msg get reply'));
    }
    await eraseSeq(nc, stream, found, timeoutMs);
    n++;
    seq = found + 1;
  }
  return { erased: n, nextSeq: seq };
}

// ---- rate-limit counters ----

/** The counter bucket: memory storage, one revision per key, records expire ttlMs after
 *  their last write. Safe when several gateways open it at once. */
export function openCounterBucket(js: JetStreamClient, bucket: string, ttlMs: number, replicas: number): Promise<KV> {
  return new Kvm(js).create(bucket, {
    history: 1,
    storage: StorageType.Memory,
    replicas,
    ttl: ttlMs,
    maxValueSize: COUNTER_MAX_VALUE_BYTES,
  });
}

function jsCode(e: unknown): number {
  return e instanceof JetStreamApiError ? e.code : 0;
}

export async function kvCounterGet(kv: KV, key: string): Promise<DirectoryRecord | null> {
  let e;
  try {
    e = await kv.get(key);
  } catch (err) {
    throw unavailable('rate-limit store unavailable', err);
  }
  if (e === null || e.operation !== 'PUT') return null;
  return { value: e.value, revision: e.revision };
}

/**
 * kv.create without its read after a failed write: nats.js's create reads the key after
 * any failure of its write (to write over a delete marker), a timeout included, so a
 * create whose store did not answer took two deadlines, and its timeout came a whole
 * deadline late (late-timer.ts would take it for a held loop). Here the key is read only
 * after a revision conflict, as nats.js does then: over a delete or purge marker the
 * value is written at the marker's revision; otherwise the conflict is thrown.
 */
export async function kvCreate(kv: KV, key: string, value: Uint8Array): Promise<number> {
  try {
    return await kv.put(key, value, { previousSeq: 0 });
  } catch (e) {
    const code = jsCode(e);
    if (code !== 10071 && code !== 10164) throw e;
    const last = await kv.get(key);
    if (last === null || (last.operation !== 'DEL' && last.operation !== 'PURGE')) throw e;
    return kv.put(key, value, { previousSeq: last.revision });
  }
}

/**
 * A counter's compare-and-set write: what kv.update (kvCreate for revision 0) sends, one
 * JetStream publish to the key's subject expecting `expectedRevision` as the key's last,
 * plus `msgId` as its Nats-Msg-Id (one per write: NatsBus.counterPut). Written again with
 * the same `msgId` (within the bucket's duplicate window, 2 minutes), a write that landed
 * is answered as a duplicate with its revision: nats-server checks duplicates before the
 * expected revision (2.9.10, single and R3). A write that did not land meets whatever
 * was written since as a conflict (null), or lands. That, not the bytes the key holds,
 * tells whether this very write landed: two gateways charging one budget at once write
 * the same bytes over the same revision. Over a delete or purge marker a create is
 * written at the marker's revision, as kvCreate does.
 */
export async function kvCounterPut(js: JetStreamClient, kv: KV, bucket: string, key: string, value: Uint8Array, expectedRevision: number, msgId: string, timeoutMs: number): Promise<number | null> {
  const subject = `$KV.${bucket}.${key}`;
  const put = async (last: number): Promise<number> => (await js.publish(subject, value, { msgID: msgId, expect: { lastSubjectSequence: last }, timeout: timeoutMs })).seq;
  try {
    try {
      return await put(expectedRevision);
    } catch (e) {
      const code = jsCode(e);
      if (expectedRevision !== 0 || (code !== 10071 && code !== 10164)) throw e;
      const last = await kv.get(key);
      if (last === null || (last.operation !== 'DEL' && last.operation !== 'PURGE')) throw e;
      return await put(last.revision);
    }
  } catch (e) {
    // 10071 wrong last sequence / 10164 unknown last sequence: someone else wrote first
    const code = jsCode(e);
    if (code === 10071 || code === 10164) return null;
    throw unavailable('rate-limit store unavailable', e);
  }
}

// ---- Nats-Msg-Id ----

const MSG_ID_DOMAIN = 'hushwire msg-id v1\0';

/**
 * Nats-Msg-Id for a mailbox put: HMAC-SHA256(key, domain || tag.device.id), 128 bits as
 * hex. JetStream's duplicate detection needs the same header for a retry of the same
 * envelope to the same device, and nothing else: a keyed hash gives that without the
 * header repeating the envelope id. With one key for all gateways (--dedup-key-file) a
 * retry through another gateway is deduplicated too; with a per-process random key
 * only retries through the same gateway are (the handset drops the other duplicates).
 */
export function natsMsgId(key: Uint8Array, routeTag: string, deviceToken: string, envelopeId: string): string {
  return createHmac('sha256', key).update(`${MSG_ID_DOMAIN}${routeTag}.${deviceToken}.${envelopeId}`).digest('hex').slice(0, 32);
}
