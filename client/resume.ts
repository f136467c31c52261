// Resumption tickets on the handset (docs/PROTOCOL.md, section 13; docs/CLIENT.md,
// "Resumption"): what the client keeps between its connects, and the rules of when it
// asks for a ticket, presents one, renews or forgets it. The I/O (the ops on the
// connection) is client/client.ts's; this module has none, so its rules are tested
// without a gateway (test/client/resume-state.test.ts).
//
// What is kept, and where: per gateway URL that issued one (at most
// RESUME_MAX_GATEWAYS, the least recently used dropped), the ticket (opaque, sealed by
// the gateways), the resumption secret K and the expiry; and per gateway URL, which
// other gateways' tickets it refused (under its current resume key). In this object's
// memory only. Never in the profile store
// (device.json, state.json, ...): a ticket stands in for the identity key's signature
// for up to the gateway's ticket lifetime, and a backup or a copied profile directory
// must not carry it. The ephemeral X25519 secret of a request is wiped as soon as K is
// derived; K is wiped when the ticket is forgotten or replaced. Wiping is best effort in
// JavaScript (a copy may live on in the engine), which is why nothing is written out.
import { x25519KeyPair, x25519SharedSecret } from '../relay/crypto/engines.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ticketSecret, resumeProof, RESUME_PUBLIC_KEY_BYTES } from '../relay/crypto/resume.ts';

/** A ticket this close to its expiry is not presented (the gateway's clock may be ahead,
 *  and a refused one costs a round trip): the connect signs, and asks for a new one. */
export const RESUME_EXPIRY_MARGIN_MS = 60_000;
/** After a resumed auth, a ticket with less than this share of its lifetime left is
 *  renewed (a ticket request on that connection). */
export const RESUME_RENEW_FRACTION = 0.25;
/** Tickets are kept per gateway URL that issued them, for at most this many gateways
 *  (the least recently used one's is dropped); as many gateways' refusals are kept. */
export const RESUME_MAX_GATEWAYS = 8;

/** What a client tells of its resumption (ClientOptions.resume; client.resumeStats):
 *  counts and error codes only, never a ticket, key or secret. */
export interface ResumeStats {
  /** Connects authenticated with a ticket instead of a signature. */
  resumed: number;
  /** Tickets a gateway refused (RESUME_REFUSED): forgotten, and that connect signed. */
  refused: number;
  /** Ticket requests sent (ticket_request ops written). */
  requested: number;
  /** Tickets received and kept. */
  issued: number;
  /** Ticket requests that got no usable ticket (an error answer, a lost connection, a
   *  timeout, an answer the client could not use), or could not be made (a gateway's
   *  resume key that is a low-order point). The connect they followed is not affected:
   *  the next signed connect asks again. */
  failed: number;
  /** The code of the last failed ticket request (`UNAVAILABLE`, `TIMEOUT`, ...), or ''. */
  lastError: string;
  /** Whether a ticket is held now (any gateway's). */
  holding: boolean;
  /** How many tickets are held now: one per gateway that issued one, at most
   *  RESUME_MAX_GATEWAYS. */
  held: number;
}

interface Held {
  ticket: Uint8Array;
  secret: Uint8Array;
  expiresAt: number;
  lifetimeMs: number;
  /** When it was received (the most recent is the one offered to another gateway). */
  issuedAt: number;
}

/** What one gateway refused: the issuers (gateway URLs) whose tickets it cannot open,
 *  as long as it shows the resume key it showed then (a restart draws a new one). */
interface Refusals {
  resumeKey: string;
  issuers: Set<string>;
}

/** A ticket to present on an `auth`: the ticket, the proof over this connection's
 *  nonce, and which gateway (URL) issued it. */
export interface Presented {
  ticket: Uint8Array;
  proof: Uint8Array;
  issuer: string;
}

/** A ticket request under way: the public key to send, then what came back. */
export interface TicketAsk {
  publicKey: Uint8Array;
  /** The gateway's `ticket` answer: kept as that gateway's (replacing the one held from
   *  it, and the one renewed) unless the tickets were forgotten or turned off since the
   *  request began. Whether it was kept. */
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
  /** Tickets by the gateway URL that issued them, least recently used first. */
  private readonly tickets = new Map<string, Held>();
  /** By gateway URL: the issuers whose tickets it refused, least recently used first. */
  private readonly refusals = new Map<string, Refusals>();
  /** Increases at every forget of everything: an answer to a request begun before is
   *  thrown away. */
  private epoch = 0;
  private off: boolean;
  private readonly now: () => number;
  private readonly counts = { resumed: 0, refused: 0, requested: 0, issued: 0, failed: 0, lastError: '' };

  /** `enabled`: ClientOptions.resume, and a receiving client (send-only processes are
   *  short-lived and never ask). */
  constructor(enabled: boolean, now: () => number = Date.now) {
    this.off = !enabled;
    this.now = now;
  }

  get stats(): ResumeStats {
    return { ...this.counts, holding: this.tickets.size > 0, held: this.tickets.size };
  }

  /** Whether resumption is in use (not turned off, not disabled by close or opt-out). */
  get enabled(): boolean {
    return !this.off;
  }

  /**
   * The ticket and proof for an `auth` on a connection to gateway `at` (its URL) whose
   * challenge carried `resumeKey` and `nonce`, or null: sign instead. Null when the
   * gateway announced no resume key (an older gateway would close 4002 on an auth
   * without a signature), or when no ticket fits. Which fits: the one `at` issued, if
   * held; else the most recently issued one of another gateway (gateways sharing
   * --resume-key-file open each other's), leaving out issuers whose tickets `at`
   * already refused under this resume key. A ticket within RESUME_EXPIRY_MARGIN_MS of
   * its expiry is never presented (it is forgotten).
   */
  presentable(at: string, resumeKey: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Presented | null {
    if (this.off || resumeKey.length === 0) return null;
    this.dropExpiring();
    const refused = this.refusalsAt(at, resumeKey).issuers;
    let issuer: string | null = null;
    if (this.tickets.has(at)) issuer = at;
    else {
      let newest = -Infinity;
      for (const [from, held] of this.tickets) {
        if (refused.has(from)) continue;
        if (held.issuedAt >= newest) {
          newest = held.issuedAt;
          issuer = from;
        }
      }
    }
    if (issuer === null) return null;
    const held = this.tickets.get(issuer)!;
    this.touch(this.tickets, issuer, held); // no new key: nothing goes over the bound
    return { ticket: held.ticket, proof: resumeProof(held.secret, nonce, route, device), issuer };
  }

  /** A connect authenticated with the ticket. */
  noteResumed(): void {
    this.counts.resumed++;
  }

  /**
   * Gateway `at` answered RESUME_REFUSED to the ticket `issuer` issued (the connect
   * signs). Its own ticket is forgotten; another gateway's is kept (it stays good where
   * it was issued) and not presented at `at` again until `at` shows another resume key.
   */
  noteRefused(at: string, issuer: string): void {
    this.counts.refused++;
    if (issuer === at) {
      this.drop(at);
      return;
    }
    const r = this.refusals.get(at);
    if (r === undefined) return; // forgotten meanwhile (presentable recorded the key)
    r.issuers.delete(issuer);
    r.issuers.add(issuer);
    if (r.issuers.size > RESUME_MAX_GATEWAYS) r.issuers.delete(r.issuers.values().next().value!);
  }

  /**
   * Whether to ask for a ticket on a connection that just authenticated: one whose
   * gateway announced a resume key, after a signed auth (this gateway's ticket, if one
   * was held, was refused or is near its expiry, and no other gateway's fitted: a new
   * one is kept under this gateway), or after one resumed with the ticket `resumedWith`
   * issued when that ticket has less than RESUME_RENEW_FRACTION of its lifetime left.
   */
  wantsTicket(resumeKey: Uint8Array, resumedWith: string | null): boolean {
    if (this.off || resumeKey.length !== RESUME_PUBLIC_KEY_BYTES) return false;
    if (resumedWith === null) return true;
    const held = this.tickets.get(resumedWith);
    if (held === undefined) return true;
    return held.expiresAt - this.now() < held.lifetimeMs * RESUME_RENEW_FRACTION;
  }

  /**
   * Begins a ticket request to gateway `at` whose challenge carried `resumeKey`: a
   * fresh X25519 key pair, the resumption secret derived at once from it and the resume
   * key (relay/crypto/resume.ts ticketSecret), and the ephemeral secret wiped. The
   * ticket it gets is kept as `at`'s, replacing the one `renewing` names (the ticket
   * that resumed this connection, another gateway's when they share keys). Null
   * (counted as failed) when the derivation fails: a low-order resume key.
   */
  begin(at: string, resumeKey: Uint8Array, device: Uint8Array, renewing: string | null = null): TicketAsk | null {
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
    const epoch = this.epoch;
    let settled = false;
    return {
      publicKey,
      accept: (answer) => {
        if (settled) return false;
        settled = true;
        const ticket = answer.ticket;
        const expiresInS = Number(answer.expiresInS ?? 0);
        if (this.off || epoch !== this.epoch) {
          wipe(secret);
          return false;
        }
        if (!(ticket instanceof Uint8Array) || ticket.length === 0 || !Number.isFinite(expiresInS) || expiresInS <= 0) {
          wipe(secret);
          this.noteFailed('BAD_REQUEST');
          return false;
        }
        const lifetimeMs = expiresInS * 1000;
        const now = this.now();
        if (renewing !== null && renewing !== at) this.drop(renewing);
        this.keep(at, { ticket: ticket.slice(), secret, expiresAt: now + lifetimeMs, lifetimeMs, issuedAt: now });
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

  /** Forgets every ticket held (their secrets wiped) and every refusal; a request under
   *  way is thrown away. */
  forget(): void {
    this.epoch++;
    for (const held of this.tickets.values()) wipe(held.secret);
    this.tickets.clear();
    this.refusals.clear();
  }

  /** For good (close, opt-out): forgets the tickets and asks for none again. */
  disable(): void {
    this.off = true;
    this.forget();
  }

  /** `at`'s refusals, started afresh when `at` shows another resume key than when it
   *  refused (it restarted: a new key, maybe a shared one now). Counts as a use of them. */
  private refusalsAt(at: string, resumeKey: Uint8Array): Refusals {
    const key = bytesToHex(resumeKey);
    let r = this.refusals.get(at);
    if (r === undefined || r.resumeKey !== key) r = { resumeKey: key, issuers: new Set() };
    const over = this.touch(this.refusals, at, r);
    if (over !== undefined) this.refusals.delete(over);
    return r;
  }

  /** Keeps `value` under `key` as the most recently used; the least recently used key
   *  over RESUME_MAX_GATEWAYS is taken out and returned (else undefined). */
  private touch<V>(map: Map<string, V>, key: string, value: V): string | undefined {
    map.delete(key);
    map.set(key, value);
    if (map.size <= RESUME_MAX_GATEWAYS) return undefined;
    const oldest = map.keys().next().value!;
    return oldest;
  }

  /** `next` as the ticket `at` issued (replacing and wiping the one held from it); the
   *  least recently used gateway's ticket over the bound is forgotten. */
  private keep(at: string, next: Held): void {
    this.drop(at);
    const over = this.touch(this.tickets, at, next);
    if (over !== undefined) this.drop(over);
  }

  private drop(issuer: string): void {
    const held = this.tickets.get(issuer);
    if (held === undefined) return;
    this.tickets.delete(issuer);
    wipe(held.secret);
  }

  /** Forgets the tickets within RESUME_EXPIRY_MARGIN_MS of their expiry. */
  private dropExpiring(): void {
    const now = this.now();
    for (const [issuer, held] of this.tickets) if (now >= held.expiresAt - RESUME_EXPIRY_MARGIN_MS) this.drop(issuer);
  }

  private noteFailed(code: string): void {
    this.counts.failed++;
    this.counts.lastError = code;
  }
}
