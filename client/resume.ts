// Resumption tickets on the handset (docs/PROTOCOL.md, section 13; docs/CLIENT.md,
// "Resumption"): what the client keeps between its connects, and the rules of when it
// asks for a ticket, presents one, renews or forgets it. The I/O (the ops on the
// connection) is client/client.ts's; this module has none, so its rules are tested
// without a gateway (test/client/resume-state.test.ts).
//
// What is kept, and where: per resume key (Challenge.resume_key of the connection a
// ticket was asked on; at most RESUME_MAX_TICKETS, the least recently used dropped), the
// ticket (opaque, sealed by the gateways), the resumption secret K and the expiry. A
// gateway's resume_key is derived from its sealing ticket key (relay/relay.ts
// resumeKeyFromTicketKey): gateways sharing --resume-key-file show the same one, so a
// ticket is presented exactly where the challenge shows the key it was issued under, and
// nothing is guessed. In this object's memory only. Never in the profile store
// (device.json, state.json, ...): a ticket stands in for the identity key's signature
// for up to the gateway's ticket lifetime, and a backup or a copied profile directory
// must not carry it. The ephemeral X25519 secret of a request is wiped as soon as K is
// derived; K is wiped when the ticket is forgotten, replaced or dropped. Wiping is best
// effort in JavaScript (a copy may live on in the engine), which is why nothing is
// written out. Also kept, in memory: the resume keys (public) of at most RESUME_MAX_KEYS
// gateways that answered a resume AUTH_FAILED, to which no ticket is presented for
// RESUME_REJECT_FORGET_MS (Resumption.noteAuthFailed).
import { x25519KeyPair, x25519SharedSecret } from '../relay/crypto/engines.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ticketSecret, resumeProof, RESUME_PUBLIC_KEY_BYTES, MAX_RESUME_VERIFIERS } from '../relay/crypto/resume.ts';

/** A ticket this close to its expiry is not presented (the gateway's clock may be ahead,
 *  and a refused one costs a round trip): the connect signs, and asks for a new one. */
export const RESUME_EXPIRY_MARGIN_MS = 60_000;
/** How long after a signed connect a ticket request may wait by default
 *  (ClientOptions.resumeSpreadMs: a random moment within it), and the most it may be set
 *  to: past a few minutes a device whose connections last less would never get one. */
export const RESUME_SPREAD_MS = 30_000;
export const MAX_RESUME_SPREAD_MS = 600_000;
/** After a resumed auth, a ticket with less than this share of its lifetime left is
 *  renewed (a ticket request on that connection). */
export const RESUME_RENEW_FRACTION = 0.25;
/** Tickets are kept per resume key they were issued under, for at most this many keys
 *  (the least recently used one's is dropped, its secret wiped): as many as a device's
 *  directory record keeps verifiers of (relay/crypto/resume.ts MAX_RESUME_VERIFIERS,
 *  newest first), since a fifth ticket held would be refused anyway once the device has
 *  asked for 4 newer ones (docs/PROTOCOL.md section 13). */
export const RESUME_MAX_TICKETS = MAX_RESUME_VERIFIERS;
/** The most resume keys remembered as rejecting resumes (Resumption.noteAuthFailed). */
export const RESUME_MAX_KEYS = 8;
/** How long a resume key whose gateway answered a resume AUTH_FAILED gets no ticket
 *  presented or asked for (Resumption.noteAuthFailed): then one is tried again (a
 *  gateway fixed or upgraded meanwhile resumes again; one still rejecting costs one more
 *  AUTH_FAILED and is remembered again). */
export const RESUME_REJECT_FORGET_MS = 6 * 3600_000;

/** What a client tells of its resumption (ClientOptions.resume; client.resumeStats):
 *  counts and error codes only, never a ticket, key or secret. */
export interface ResumeStats {
  /** Connects authenticated with a ticket instead of a signature. */
  resumed: number;
  /** Tickets a gateway refused (RESUME_REFUSED): forgotten, and that connect signed. */
  refused: number;
  /** Resumes a gateway answered AUTH_FAILED (or closed 4002 while one was unanswered):
   *  the gateway and this SDK disagree on what a resume may be (a bug, or a gateway
   *  version with other rules), which says nothing against the identity key. Every
   *  ticket is forgotten, the client reconnects (backoff) and signs, and presents no
   *  ticket under that resume key, nor asks for one there, for the next 6 hours
   *  (noteAuthFailed, RESUME_REJECT_FORGET_MS). */
  authFailed: number;
  /** Ticket requests sent (ticket_request ops written). */
  requested: number;
  /** Tickets received and kept. */
  issued: number;
  /** Ticket requests that got no usable ticket (an error answer, a lost connection, a
   *  timeout, an answer the client could not use), or could not be made (a gateway's
   *  resume key that is a low-order point). The connect they followed is not affected:
   *  the next signed connect asks again. */
  failed: number;
  /** The code of the last failure: a failed ticket request's (`UNAVAILABLE`,
   *  `TIMEOUT`, ...), or `AUTH_FAILED` for a resume answered so (authFailed); '' when
   *  there was none. */
  lastError: string;
  /** Whether a ticket is held now (for any resume key). */
  holding: boolean;
  /** How many tickets are held now: one per resume key a ticket was issued under, at
   *  most RESUME_MAX_TICKETS (4). */
  held: number;
}

interface Held {
  ticket: Uint8Array;
  secret: Uint8Array;
  expiresAt: number;
  lifetimeMs: number;
}

/** A ticket to present on an `auth`: the ticket and the proof over this connection's
 *  nonce. */
export interface Presented {
  ticket: Uint8Array;
  proof: Uint8Array;
}

/** A ticket request under way: the public key to send, then what came back. */
export interface TicketAsk {
  publicKey: Uint8Array;
  /** The gateway's `ticket` answer: kept under the resume key the request was made with
   *  (replacing the one held for it: a renewal) unless the tickets were forgotten or
   *  turned off since the request began. Whether it was kept. */
  accept(answer: { ticket?: Uint8Array | null; expiresInS?: number | null }): boolean;
  /** The request failed (its error code, for the stats). */
  fail(code: string): void;
}

/** Zeroes `b` when it owns its whole buffer (never a view into memory shared with
 *  something else, such as a pooled Buffer slab). */
export function wipe(b: Uint8Array): void {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) b.fill(0);
}

export class Resumption {
  /** Tickets by the resume key (hex) they were issued under, least recently used first. */
  private readonly tickets = new Map<string, Held>();
  /** Increases at every forget of everything: an answer to a request begun before is
   *  thrown away. */
  private epoch = 0;
  private off: boolean;
  private readonly now: () => number;
  /** Resume keys (hex) whose gateway answered a resume AUTH_FAILED, least recently seen
   *  first, at most RESUME_MAX_KEYS, each with the time (this.now()) it is forgotten at
   *  (noteAuthFailed). */
  private readonly rejecting = new Map<string, number>();
  private readonly counts = { resumed: 0, refused: 0, authFailed: 0, requested: 0, issued: 0, failed: 0, lastError: '' };

  /** `enabled`: ClientOptions.resume, and a receiving client (send-only processes are
   *  short-lived and never ask). */
  constructor(enabled: boolean, now: () => number = Date.now) {
    this.off = !enabled;
    this.now = now;
  }

  get stats(): ResumeStats {
    return { ...this.counts, holding: this.tickets.size > 0, held: this.tickets.size };
  }

  /**
   * The ticket and proof for an `auth` on a connection whose challenge carried
   * `resumeKey` and `nonce`, or null: sign instead. The ticket is the one held for
   * `resumeKey`, the key it was issued under (the gateways showing it seal and open with
   * the same ticket key); no other is tried. Null when the gateway announced no resume
   * key (an older gateway would close 4002 on an auth without a signature), when none is
   * held for this key, when the one held is within RESUME_EXPIRY_MARGIN_MS of its
   * expiry (it is forgotten), or when a gateway showing this key answered a resume
   * AUTH_FAILED within RESUME_REJECT_FORGET_MS (noteAuthFailed).
   */
  presentable(resumeKey: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Presented | null {
    if (this.off || resumeKey.length === 0) return null;
    this.dropExpiring();
    const key = bytesToHex(resumeKey);
    if (this.isRejecting(key)) return null;
    const held = this.tickets.get(key);
    if (held === undefined) return null;
    this.touch(key, held);
    return { ticket: held.ticket, proof: resumeProof(held.secret, nonce, route, device) };
  }

  /** A connect authenticated with the ticket. */
  noteResumed(): void {
    this.counts.resumed++;
  }

  /** A gateway showing `resumeKey` answered RESUME_REFUSED to the ticket held for it
   *  (the device's record changed, the key was rotated out of the opening set, ...):
   *  it is forgotten, and the connect signs. */
  noteRefused(resumeKey: Uint8Array): void {
    this.counts.refused++;
    this.drop(bytesToHex(resumeKey));
  }

  /**
   * A resume on a connection whose challenge showed `resumeKey` was answered
   * AUTH_FAILED, or the connection closed 4002 while it was unanswered. The gateway
   * sends that to a resume only when it takes the resume as malformed or as a second one
   * on the connection: it and this SDK disagree on the rules (a bug on either side, a
   * gateway version that changed them), not a verdict on the identity key, whose
   * signature that gateway has not seen. So the client is not ended (the connection
   * reconnects, with backoff, and signs: client/connection-core.ts retryOnAuthFailed);
   * here every ticket is forgotten (they were all made and would be presented under the
   * same rules), it is counted (authFailed, lastError), and `resumeKey` is remembered:
   * no ticket is presented under it, nor asked for (one would never be used), for
   * RESUME_REJECT_FORGET_MS (6 hours). Without that, a gateway that rejects every resume
   * so would cost each reconnect an AUTH_FAILED and a second connection, and each signed
   * connect a ticket request. Not for the life of this object: a gateway fixed or
   * upgraded meanwhile (its resume key unchanged, with a shared --resume-key-file) would
   * never see a resume from this client again; after the 6 hours one ticket is asked
   * for and presented, and a gateway still rejecting costs one more AUTH_FAILED before
   * it is remembered again (another 6 hours). Other resume keys keep resuming (another
   * gateway, or the same after a key rotation or, with a key of its own, a restart: a
   * new resume key). At most RESUME_MAX_KEYS are remembered, the least recently seen
   * dropped first: the memory stays bounded, and a key dropped so costs the same one
   * more AUTH_FAILED.
   */
  noteAuthFailed(resumeKey: Uint8Array): void {
    this.counts.authFailed++;
    this.counts.lastError = 'AUTH_FAILED';
    this.forget();
    const key = bytesToHex(resumeKey);
    this.rejecting.delete(key);
    this.rejecting.set(key, this.now() + RESUME_REJECT_FORGET_MS);
    if (this.rejecting.size > RESUME_MAX_KEYS) this.rejecting.delete(this.rejecting.keys().next().value!);
  }

  /**
   * Whether to ask for a ticket on a connection that just authenticated: one whose
   * gateway announced a resume key (and did not reject a resume within RESUME_REJECT_FORGET_MS: noteAuthFailed), after
   * a signed auth (no ticket was held for this key, or it was refused or near its
   * expiry), or after a resumed one when the ticket held for this key has less than
   * RESUME_RENEW_FRACTION of its lifetime left.
   */
  wantsTicket(resumeKey: Uint8Array, resumed: boolean): boolean {
    if (this.off || resumeKey.length !== RESUME_PUBLIC_KEY_BYTES) return false;
    if (this.isRejecting(bytesToHex(resumeKey))) return false;
    if (!resumed) return true;
    const held = this.tickets.get(bytesToHex(resumeKey));
    if (held === undefined) return true;
    return held.expiresAt - this.now() < held.lifetimeMs * RESUME_RENEW_FRACTION;
  }

  /**
   * Begins a ticket request on a connection whose challenge carried `resumeKey`: a
   * fresh X25519 key pair, the resumption secret derived at once from it and the resume
   * key (relay/crypto/resume.ts ticketSecret), and the ephemeral secret wiped. The
   * ticket it gets is kept under `resumeKey`, replacing the one held for it. Null
   * (counted as failed) when the derivation fails: a low-order resume key.
   */
  begin(resumeKey: Uint8Array, device: Uint8Array): TicketAsk | null {
    if (this.off) return null;
    const { secretKey, publicKey } = x25519KeyPair();
    let secret: Uint8Array;
    try {
      const shared = x25519SharedSecret(secretKey, resumeKey);
      try {
        secret = ticketSecret(shared, device, publicKey, resumeKey);
      } finally {
        wipe(shared);
      }
    } catch {
      this.noteFailed('BAD_REQUEST');
      return null;
    } finally {
      wipe(secretKey);
    }
    this.counts.requested++;
    const key = bytesToHex(resumeKey);
    const epoch = this.epoch;
    let settled = false;
    return {
      publicKey,
      accept: (answer) => {
        if (settled) return false;
        settled = true;
        const ticket = answer.ticket;
        const expiresInS = Number(answer.expiresInS ?? 0);
        if (this.off || epoch !== this.epoch || this.isRejecting(key)) {
          wipe(secret);
          return false;
        }
        if (!(ticket instanceof Uint8Array) || ticket.length === 0 || !Number.isFinite(expiresInS) || expiresInS <= 0) {
          wipe(secret);
          this.noteFailed('BAD_REQUEST');
          return false;
        }
        const lifetimeMs = expiresInS * 1000;
        this.drop(key);
        this.touch(key, { ticket: ticket.slice(), secret, expiresAt: this.now() + lifetimeMs, lifetimeMs });
        this.counts.issued++;
        return true;
      },
      fail: (code) => {
        if (settled) return;
        settled = true;
        wipe(secret);
        this.noteFailed(code);
      },
    };
  }

  /** Forgets every ticket held (their secrets wiped); a request under way is thrown
   *  away. */
  forget(): void {
    this.epoch++;
    for (const held of this.tickets.values()) wipe(held.secret);
    this.tickets.clear();
  }

  /** For good (close, opt-out): forgets the tickets and asks for none again. */
  disable(): void {
    this.off = true;
    this.forget();
  }

  /** Whether `key` (hex) is a resume key whose gateway rejected a resume within the
   *  last RESUME_REJECT_FORGET_MS (noteAuthFailed); if so it becomes the most recently
   *  seen of them. One remembered longer is forgotten: false. */
  private isRejecting(key: string): boolean {
    const until = this.rejecting.get(key);
    if (until === undefined) return false;
    this.rejecting.delete(key);
    if (this.now() >= until) return false;
    this.rejecting.set(key, until);
    return true;
  }

  /** Keeps `held` under `key` as the most recently used; the least recently used key's
   *  ticket over RESUME_MAX_TICKETS is dropped (its secret wiped). */
  private touch(key: string, held: Held): void {
    this.tickets.delete(key);
    this.tickets.set(key, held);
    if (this.tickets.size > RESUME_MAX_TICKETS) this.drop(this.tickets.keys().next().value!);
  }

  private drop(key: string): void {
    const held = this.tickets.get(key);
    if (held === undefined) return;
    this.tickets.delete(key);
    wipe(held.secret);
  }

  /** Forgets the tickets within RESUME_EXPIRY_MARGIN_MS of their expiry. */
  private dropExpiring(): void {
    const now = this.now();
    for (const [key, held] of this.tickets) if (now >= held.expiresAt - RESUME_EXPIRY_MARGIN_MS) this.drop(key);
  }

  private noteFailed(code: string): void {
    this.counts.failed++;
    this.counts.lastError = code;
  }
}
