// Resumption tickets as the gateways seal and open them (docs/PROTOCOL.md, section 13;
// the secret and proof both ends compute are in relay/crypto/resume.ts).
//
// A ticket is the gateway's own copy of a device's resumption secret, sealed with
// AES-256-GCM under a ticket key only gateways hold, so any gateway with that key can
// check a resume without state of its own (gateways are stateless: DESIGN.md):
//
//   version (1 byte, 1) || key id (4) || iv (12) || AES-256-GCM(expires_at_s u32 BE || secret (32)) || tag (16)
//
// 69 bytes. Associated data: "hushwire ticket v1" 0x00 || the 17 header bytes || the
// route's tag and the device token (relay/tokens.ts: 32 hex characters each, as ASCII;
// the tag is what an authenticated session keeps of its route) || the device's identity
// key as the directory holds it, so a ticket opens only for the device it was issued to
// and only while that device record (same key) exists.
// The key id is the first 4 bytes of SHA-256("hushwire ticket key id v1" 0x00 || key):
// it picks the key among those accepted (rotation) and says nothing about it.
//
// What a ticket binds is public (a lookup answers route, device and identity key), so a
// ticket key alone could seal a secret of anyone's choosing for any device. A ticket is
// therefore honoured only while the device's directory record holds its verifier
// (resumeVerifierNode over the whole ticket and its secret, written by
// recordResumeVerifier when the ticket is issued): forging one needs a directory write
// as well as the key. Over the whole ticket, not the secret alone: a ticket key and a
// secret taken from a device would otherwise re-seal that secret with a fresh expiry,
// honoured for as long as the verifier stayed in the record.
//
// IVs are random (96 bits): under one key, the chance of a repeat stays below 2^-32
// for the first 2^32 tickets; keys are meant to be rotated far sooner (OPERATIONS.md).
// On node:crypto (OpenSSL): this is the gateway's hot path in a reconnect storm.
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { label0 } from './crypto/bytes.ts';
import {
  MAX_RESUME_VERIFIERS, PROOF_LABEL, RESUME_PROOF_BYTES, RESUME_SECRET_BYTES, RESUME_VERIFIER_BYTES, VERIFIER_LABEL,
} from './crypto/resume.ts';
import { pooledRandomBytes } from './crypto/random-pool.ts';
import type { Bus } from './bus/bus.ts';
import { bytesEqual, latin1Slice } from './bytes.ts';
import { editDevices, deviceProps } from './privacy/devices.ts';

export const TICKET_VERSION = 1;
export const TICKET_KEY_BYTES = 32;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES;
const BODY_BYTES = 4 + RESUME_SECRET_BYTES;
const TAG_BYTES = 16;
export const TICKET_BYTES = HEADER_BYTES + BODY_BYTES + TAG_BYTES;
/** The longest a ticket may be valid (--resume-ticket-ttl-s at most). */
export const MAX_TICKET_TTL_S = 7 * 24 * 3600;
/** How far a ticket's expiry may lie beyond this gateway's own lifetime from now: the
 *  clock difference allowed between the gateway that sealed it and this one. A ticket
 *  sealed to live longer (a gateway whose --resume-ticket-ttl-s was lowered since, or
 *  one with its clock far ahead) does not open: the device signs and gets one that
 *  lives as long as this gateway says. */
export const TICKET_CLOCK_SKEW_S = 300;

const AAD_LABEL = Buffer.from(label0('hushwire ticket v1'));
const KEY_ID_LABEL = label0('hushwire ticket key id v1');

interface TicketKey {
  readonly id: number; // the 4 id bytes as a big-endian uint32
  readonly key: Buffer;
}

function ticketKey(raw: Uint8Array): TicketKey {
  if (!(raw instanceof Uint8Array) || raw.length !== TICKET_KEY_BYTES) {
    throw new TypeError(`a ticket key must be ${TICKET_KEY_BYTES} bytes`);
  }
  const id = createHash('sha256').update(KEY_ID_LABEL).update(raw).digest().readUInt32BE(0);
  return { id, key: Buffer.from(raw) };
}

function aad(header: Uint8Array, routeTag: string, deviceToken: string, identityKey: Uint8Array): Buffer {
  if (routeTag.length !== 32 || deviceToken.length !== 32) throw new TypeError('route tag and device token are 32 characters');
  const out = Buffer.allocUnsafe(AAD_LABEL.length + header.length + 64 + identityKey.length);
  let at = AAD_LABEL.copy(out, 0);
  out.set(header, at);
  at += header.length;
  at += out.write(routeTag, at, 'latin1');
  at += out.write(deviceToken, at, 'latin1');
  out.set(identityKey, at);
  return out;
}

export interface SealedTicket {
  ticket: Uint8Array;
  expiresInS: number;
}

export class ResumeTickets {
  #issuing: TicketKey;
  #accepted = new Map<number, TicketKey>();
  readonly ttlS: number;
  readonly #nowMs: () => number;

  /**
   * keys: the ticket keys, the first one seals, all of them open (rotation: put the new
   * key first and keep the old one until its tickets have expired). ttlS: how long a
   * ticket is valid, 1 to MAX_TICKET_TTL_S seconds.
   */
  constructor(keys: readonly Uint8Array[], ttlS: number, nowMs: () => number = Date.now) {
    if (!Number.isSafeInteger(ttlS) || ttlS < 1 || ttlS > MAX_TICKET_TTL_S) {
      throw new RangeError(`ticket lifetime must be 1 to ${MAX_TICKET_TTL_S} seconds`);
    }
    this.ttlS = ttlS;
    this.#nowMs = nowMs;
    this.#issuing = this.#install(keys);
  }

  /** Replaces the keys: tickets sealed under a key no longer listed stop opening. Used
   *  by tests only: the gateway reads --resume-key-file at start and nowhere else (a
   *  SIGHUP reloads nothing: gateway/sighup.ts), and a caller would also have to change
   *  the relay's resume_key, which is derived from the sealing key given at start
   *  (relay.ts resumeKeyFromTicketKey, ResumeState). */
  setKeys(keys: readonly Uint8Array[]): void {
    this.#issuing = this.#install(keys);
  }

  #install(keys: readonly Uint8Array[]): TicketKey {
    if (keys.length === 0) throw new TypeError('at least one ticket key is needed');
    const parsed = keys.map(ticketKey);
    const accepted = new Map<number, TicketKey>();
    for (const k of parsed) {
      const other = accepted.get(k.id);
      // Two different keys with one id would make tickets of one open-fail under the
      // other: refused (2^-32 by chance; in practice the same key listed twice, kept once).
      if (other !== undefined && !other.key.equals(k.key)) throw new TypeError('two ticket keys share a key id: replace one');
      accepted.set(k.id, k);
    }
    this.#accepted = accepted;
    return parsed[0]!;
  }

  /** How many keys open tickets (for the start-up line; never the keys). */
  get keyCount(): number {
    return this.#accepted.size;
  }

  /** Seals the device's resumption secret into a ticket valid for ttlS from now
   *  (routeTag, deviceToken: relay/tokens.ts routeTag and deviceToken). */
  seal(routeTag: string, deviceToken: string, identityKey: Uint8Array, secret: Uint8Array): SealedTicket {
    if (secret.length !== RESUME_SECRET_BYTES) throw new TypeError(`the resumption secret must be ${RESUME_SECRET_BYTES} bytes`);
    const k = this.#issuing;
    const out = Buffer.allocUnsafe(TICKET_BYTES);
    out[0] = TICKET_VERSION;
    out.writeUInt32BE(k.id, 1);
    out.set(pooledRandomBytes(IV_BYTES), 1 + KEY_ID_BYTES);
    const header = out.subarray(0, HEADER_BYTES);
    const body = Buffer.allocUnsafe(BODY_BYTES);
    body.writeUInt32BE(Math.floor(this.#nowMs() / 1000) + this.ttlS, 0);
    body.set(secret, 4);
    const cipher = createCipheriv('aes-256-gcm', k.key, header.subarray(1 + KEY_ID_BYTES));
    cipher.setAAD(aad(header, routeTag, deviceToken, identityKey));
    const n = cipher.update(body).copy(out, HEADER_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER_BYTES + n);
    body.fill(0);
    return { ticket: new Uint8Array(out.buffer, out.byteOffset, TICKET_BYTES), expiresInS: this.ttlS };
  }

  /**
   * The resumption secret inside a ticket, or null when it is not a ticket this gateway
   * can open for this device now: wrong length or version, a key not (or no longer)
   * accepted, sealed for another route, device or identity key, altered, expired, or
   * expiring later than ttlS (+ TICKET_CLOCK_SKEW_S) from now.
   * The reasons are not told apart (to the caller or the device).
   */
  open(ticket: Uint8Array, routeTag: string, deviceToken: string, identityKey: Uint8Array): Uint8Array | null {
    if (!(ticket instanceof Uint8Array) || ticket.length !== TICKET_BYTES || ticket[0] !== TICKET_VERSION) return null;
    const t = Buffer.from(ticket.buffer, ticket.byteOffset, ticket.length);
    const k = this.#accepted.get(t.readUInt32BE(1));
    if (k === undefined) return null;
    const header = t.subarray(0, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', k.key, header.subarray(1 + KEY_ID_BYTES));
    decipher.setAAD(aad(header, routeTag, deviceToken, identityKey));
    decipher.setAuthTag(t.subarray(HEADER_BYTES + BODY_BYTES));
    const body = decipher.update(t.subarray(HEADER_BYTES, HEADER_BYTES + BODY_BYTES));
    try {
      decipher.final(); // throws when the tag does not match
    } catch {
      body.fill(0);
      return null;
    }
    // Expired, or sealed to outlive this gateway's lifetime (TICKET_CLOCK_SKEW_S).
    const expiresAtMs = body.readUInt32BE(0) * 1000;
    const nowMs = this.#nowMs();
    if (expiresAtMs <= nowMs || expiresAtMs > nowMs + (this.ttlS + TICKET_CLOCK_SKEW_S) * 1000) {
      body.fill(0);
      return null;
    }
    return new Uint8Array(body.buffer, body.byteOffset + 4, RESUME_SECRET_BYTES);
  }
}

/** Auth.proof through node:crypto's HMAC, the bytes of relay/crypto/resume.ts's
 *  resumeProof (noble, for the portable SDK): HMAC-SHA256(secret, "hushwire resume proof
 *  v1" 0x00 || nonce || route || device), the input fed in pieces rather than
 *  concatenated. The gateway checks every resume with it, the bench's handsets make
 *  theirs with it (on the same cores as the gateways). Arguments are not checked here:
 *  callers have checked their lengths. */
export function resumeProofNode(secret: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(PROOF_LABEL).update(nonce).update(route).update(device).digest();
}

/** Auth.proof checked in constant time against resumeProofNode. */
export function resumeProofMatches(secret: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array, proof: Uint8Array): boolean {
  if (!(proof instanceof Uint8Array) || proof.length !== RESUME_PROOF_BYTES) return false;
  return timingSafeEqual(resumeProofNode(secret, nonce, route, device), proof);
}

/** A resume verifier through node:crypto, the bytes of relay/crypto/resume.ts's
 *  resumeVerifier: the first 16 bytes of SHA-256("hushwire resume verifier v2" 0x00 ||
 *  ticket || secret), `ticket` as issued (every byte: the expiry sealed in it, key id, IV,
 *  tag). Lengths are the caller's to check (seal() and open() give a 69-byte ticket and a
 *  32-byte secret). */
export function resumeVerifierNode(ticket: Uint8Array, secret: Uint8Array): Buffer {
  return createHash('sha256').update(VERIFIER_LABEL).update(ticket).update(secret).digest().subarray(0, RESUME_VERIFIER_BYTES);
}

/** Whether `verifier` is among a device record's resume_verifiers. Constant time per
 *  entry, though the verifiers are no secret to the gateway. */
export function hasResumeVerifier(verifiers: readonly Uint8Array[] | null | undefined, verifier: Uint8Array): boolean {
  let found = false;
  for (const v of verifiers ?? []) {
    if (v.length === verifier.length && timingSafeEqual(v, verifier)) found = true;
  }
  return found;
}

/** `verifiers` with `verifier` first: newest first, an equal one moved to the front, at
 *  most MAX_RESUME_VERIFIERS (the oldest dropped, so its ticket no longer resumes).
 *  `replacing`: a verifier taken out as well (the ticket this one renews). */
export function withResumeVerifier(verifiers: readonly Uint8Array[] | null | undefined, verifier: Uint8Array, replacing?: Uint8Array | null): Uint8Array[] {
  const out = [verifier];
  for (const v of verifiers ?? []) {
    if (out.length >= MAX_RESUME_VERIFIERS) break;
    if (!bytesEqual(v, verifier) && (replacing == null || !bytesEqual(v, replacing))) out.push(v);
  }
  return out;
}

/** The registration a connection authenticated against (its record's identity key and
 *  registration time): a ticket is issued only while the record is still that one. */
export interface Registration {
  /** The identity key's bytes as a latin1 string (relay/bytes.ts latin1Slice). */
  identityKey: string;
  registeredAtMs: number;
}

/**
 * Puts `verifier` first in the device's record (withResumeVerifier), with the directory's
 * compare-and-set edit (relay/privacy/devices.ts editDevices: retried on conflict;
 * UNAVAILABLE when it stays busy or the bus is down), before the ticket is sealed. Resolves
 * the identity key of the record as written (what the ticket is bound to), or null when
 * the device is not in the directory, decided again at the leader (a replica that lags
 * would not list a device registered a moment ago), or is there as another registration
 * than `registration`, the one the asking connection authenticated against: registered
 * again meanwhile (elsewhere; the kick that ends the connection not here yet), with
 * another identity key or the same one. A ticket for that record would outlive the
 * registration the connection belonged to. Ordinary reads: never the pool's reserve for
 * logins (test/gateway/resume-reserve.test.ts). `replacing`: the verifier of the ticket
 * the asking connection resumed with, taken out in the same edit (a renewal: the device
 * replaces that ticket with this one, so its verifier would only hold one of the 4 slots).
 */
export async function recordResumeVerifier(bus: Bus, tag: string, device: Uint8Array, verifier: Uint8Array, registration: Registration, replacing: Uint8Array | null = null): Promise<Uint8Array | null> {
  const once = async (fromLeader: boolean): Promise<Uint8Array | null> => {
    let identityKey: Uint8Array | null = null;
    const wrote = await editDevices(bus, tag, (devices) => {
      const me = devices.find((d) => bytesEqual(d.device, device));
      if (me === undefined || Number(me.registeredAtMs) !== registration.registeredAtMs
        || latin1Slice.call(me.identityKey, 0, me.identityKey.length) !== registration.identityKey) return null;
      identityKey = me.identityKey;
      return devices.map((d) => (d === me ? { ...deviceProps(d), resumeVerifiers: withResumeVerifier(d.resumeVerifiers, verifier, replacing) } : deviceProps(d)));
    }, fromLeader ? { fromLeader: true } : {});
    // Written: the identity key of the last edit, the one that was stored.
    return wrote ? identityKey : null;
  };
  return (await once(false)) ?? once(true);
}

/**
 * Undoes recordResumeVerifier: takes `verifier` out of the device's record again, and
 * puts back `restore` (the verifier it replaced, if any) when it is not there (the
 * compare-and-set edit, retried on a conflict; nothing written when `verifier` is no
 * longer there: then nothing is restored either). For a connection that closed while
 * the verifier was written: its ticket was never sent, so the verifier would only push
 * an older ticket of the device out of its MAX_RESUME_VERIFIERS slots. Best effort: a
 * failure leaves the slot used, as a lost answer does.
 */
export async function dropResumeVerifier(bus: Bus, tag: string, device: Uint8Array, verifier: Uint8Array, restore: Uint8Array | null = null): Promise<boolean> {
  return editDevices(bus, tag, (devices) => {
    const me = devices.find((d) => bytesEqual(d.device, device));
    if (me === undefined || !hasResumeVerifier(me.resumeVerifiers, verifier)) return null;
    const left = me.resumeVerifiers.filter((v) => !bytesEqual(v, verifier));
    const kept = restore !== null && !hasResumeVerifier(left, restore) ? [restore, ...left].slice(0, MAX_RESUME_VERIFIERS) : left;
    return devices.map((d) => (d === me ? { ...deviceProps(d), resumeVerifiers: kept } : deviceProps(d)));
    // At the leader: the verifier was written a moment ago, and a replica that has not
    // seen it yet would make this a no-op.
  }, { fromLeader: true });
}
