// The send path: one sealed envelope per recipient device, sent in one `send` op, done
// only when every receipt says delivered or stored. Transient failures are retried
// with the SAME envelopes (same ids), which the relay and the recipient dedup, so a
// retry can never show a message twice. A NOT_REGISTERED receipt after a cached device
// list means the list went stale: look up again once and seal for the current devices.
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { sealEnvelope, CONTENT_TYPE_TEXT } from '../relay/crypto/seal.ts';
import { HushwireError, ErrorCode, type ErrorCode as ErrorCodeT } from '../relay/errors.ts';
import { ENVELOPE_ID_BYTES, type EnvelopeProps } from '../relay/wire.ts';
import { fullJitterDelay } from './backoff.ts';
import { notRegistered, type Discovery, type VerifiedDevice, type Requester } from './discovery.ts';

export interface SenderKeys {
  route: Uint8Array;
  device: Uint8Array;
  identitySecret: Uint8Array;
  identityPublic: Uint8Array;
  number: string;
}

export type ReceiptStatus = 'delivered' | 'stored';

export interface SendReceipt {
  /** Envelope id (hex). */
  id: string;
  /** Recipient device id (hex). */
  device: string;
  status: ReceiptStatus;
}

export interface SendResult {
  /** The id of the first envelope; for a one-device recipient, the id the recipient sees. */
  id: string;
  /** 'delivered' when every device acknowledged it, else 'stored'. */
  status: ReceiptStatus;
  receipts: SendReceipt[];
}

export interface SealedForDevice {
  device: VerifiedDevice;
  envelope: EnvelopeProps;
}

/** Seals `body` for each device (the bench reuses this with pre-fetched devices). */
export function sealForDevices(
  me: SenderKeys,
  route: Uint8Array,
  devices: VerifiedDevice[],
  body: Uint8Array,
  nextSeq: (route: Uint8Array, device: Uint8Array) => number,
  clientTs: number = Date.now(),
): SealedForDevice[] {
  return devices.map((d) => ({
    device: d,
    envelope: sealEnvelope({
      recipient: { route, device: d.device, prekey: d.prekey },
      sender: me,
      body,
      contentType: CONTENT_TYPE_TEXT,
      seq: nextSeq(route, d.device),
      clientTs,
      id: randomBytes(ENVELOPE_ID_BYTES),
    }),
  }));
}

const RETRIABLE = new Set<string>([ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.TIMEOUT]);
const MAX_ROUNDS = 4;

export interface DeliverOptions {
  request: Requester;
  discovery: Discovery;
  seal: (devices: VerifiedDevice[]) => SealedForDevice[];
  /** Absolute deadline (ms since epoch) for the whole send, retries included. */
  deadline: number;
  random?: () => number;
}

function knownCode(code: string | null | undefined): ErrorCodeT {
  return (Object.values(ErrorCode) as string[]).includes(code ?? '') ? (code as ErrorCodeT) : ErrorCode.INTERNAL;
}

function receiptError(code: ErrorCodeT, retryAfterMs: number): HushwireError {
  if (code === ErrorCode.NOT_REGISTERED) return notRegistered();
  const text: Partial<Record<ErrorCodeT, string>> = {
    MAILBOX_FULL: "recipient's mailbox is full",
    TOO_LARGE: 'message is too large',
    RATE_LIMITED: 'rate limited: try again later',
    UNAVAILABLE: 'relay unavailable: try again later',
  };
  return new HushwireError(code, text[code] ?? `send failed: ${code.toLowerCase().replace(/_/g, ' ')}`, { retryAfterMs });
}

/** Sends to every device of `route` and resolves when all are delivered or stored. */
export async function deliverToRoute(route: Uint8Array, opts: DeliverOptions): Promise<SendResult> {
  const random = opts.random ?? Math.random;
  const sealed = new Map<string, SealedForDevice>();   // device hex -> its one envelope
  const done = new Map<string, SendReceipt>();        // device hex -> receipt
  const order: string[] = [];                          // device hexes in first-seen order
  let fresh = false;
  let lastError: HushwireError | null = null;
  let listed: VerifiedDevice[] = [];

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { devices, cached } = await opts.discovery.devicesFor(route, fresh);
    listed = devices;
    const current = new Set(devices.map((d) => bytesToHex(d.device)));
    const todo = devices.filter((d) => !done.has(bytesToHex(d.device)));
    const unsealed = todo.filter((d) => !sealed.has(bytesToHex(d.device)));
    for (const s of opts.seal(unsealed)) {
      const h = bytesToHex(s.device.device);
      sealed.set(h, s);
      order.push(h);
    }
    // A device that left the directory no longer counts.
    for (const h of [...done.keys()]) if (!current.has(h)) done.delete(h);
    const batch = todo.map((d) => sealed.get(bytesToHex(d.device))!);
    if (batch.length === 0) break;

    let retryAfterMs = 0;
    let stale = false;
    const remaining = opts.deadline - Date.now();
    if (remaining <= 0) throw lastError ?? new HushwireError(ErrorCode.TIMEOUT, 'send timed out');
    try {
      const op = await opts.request({ send: { envelopes: batch.map((s) => s.envelope) } }, remaining);
      const receipts = op.sendResult?.receipts ?? [];
      if (receipts.length !== batch.length) throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed send result');
      for (let i = 0; i < batch.length; i++) {
        const r = receipts[i];
        const s = batch[i];
        const idHex = bytesToHex(s.envelope.id!);
        if (!(r.id instanceof Uint8Array) || bytesToHex(r.id) !== idHex) {
          throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed send result');
        }
        const deviceHex = bytesToHex(s.device.device);
        if (r.status === 'delivered' || r.status === 'stored') {
          done.set(deviceHex, { id: idHex, device: deviceHex, status: r.status });
          continue;
        }
        const code = knownCode(r.code);
        const err = receiptError(code, r.retryAfterMs ?? 0);
        if (code === ErrorCode.NOT_REGISTERED && cached && !fresh) {
          stale = true;
          lastError = err;
        } else if (RETRIABLE.has(code)) {
          retryAfterMs = Math.max(retryAfterMs, r.retryAfterMs ?? 0);
          lastError = err;
        } else {
          throw err;
        }
      }
    } catch (e) {
      if (!(e instanceof HushwireError) || !RETRIABLE.has(e.code)) throw e;
      // Lost connection or timeout: we cannot know whether it arrived, so resend the
      // same envelopes; their ids make the resend harmless.
      lastError = e;
      retryAfterMs = Math.max(retryAfterMs, e.retryAfterMs);
    }
    if (todo.every((d) => done.has(bytesToHex(d.device)))) break;
    if (round === MAX_ROUNDS - 1) break;
    if (stale) {
      fresh = true;
      continue;
    }
    const delay = Math.max(retryAfterMs, fullJitterDelay(round + 1, { baseMs: 250, capMs: 5_000 }, random));
    if (Date.now() + delay >= opts.deadline) break;
    await new Promise((r) => setTimeout(r, delay));
  }

  const receipts = order.filter((h) => done.has(h)).map((h) => done.get(h)!);
  const missing = listed.some((d) => !done.has(bytesToHex(d.device)));
  if (receipts.length === 0 || missing) {
    throw lastError ?? new HushwireError(ErrorCode.UNAVAILABLE, 'send did not complete');
  }
  return {
    id: receipts[0].id,
    status: receipts.every((r) => r.status === 'delivered') ? 'delivered' : 'stored',
    receipts,
  };
}
