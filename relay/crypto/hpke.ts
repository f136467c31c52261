// RFC 9180 HPKE, base mode (0x00) only: KEM DHKEM(X25519, HKDF-SHA256) (0x0020), KDF
// HKDF-SHA256 (0x0001), AEAD ChaCha20-Poly1305 (0x0003, the envelope suite) or
// AES-128-GCM (0x0001, kept so the RFC's A.1 vectors check the shared code too).
//
// Hand-written over noble's hashes and ciphers and a native X25519 where Node has one
// (relay/crypto/x25519.ts installs it in relay/crypto/engines.ts: libsodium or OpenSSL,
// ~12-85 µs per step against ~700 for noble's pure JS, the portable SDK's engine) rather than taken
// from an npm HPKE library because those are async (WebCrypto) and generic over many
// suites; we need one suite, synchronously, on the send and receive paths. It is ~150
// lines that follow the RFC's pseudocode names, and test/crypto/hpke.test.ts proves it
// byte for byte against the RFC's Appendix A.1 and A.2 vectors (key schedule, every
// encryption, every export).
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../errors.ts';
import { assertBytes } from './bytes.ts';
import { x25519KeyPair, x25519PublicKey, x25519SharedSecret } from './engines.ts';

/** RFC 9180 AEAD ids: 1 = AES-128-GCM, 3 = ChaCha20-Poly1305. */
export type AeadId = 1 | 3;
export interface HpkeOptions {
  aead?: AeadId;
}
export interface SenderOptions extends HpkeOptions {
  /** Deterministic ephemeral key material (RFC 9180 DeriveKeyPair); tests and vectors only. */
  ikmE?: Uint8Array;
}
export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const MODE_BASE = 0x00;
const N_SECRET = 32; // DHKEM(X25519) shared secret
/** X25519 public key (= enc) and secret key length. */
export const X25519_KEY_BYTES = 32;
const N_KEY = X25519_KEY_BYTES;
const N_H = 32; // SHA-256 output
const N_N = 12; // AEAD nonce, both AEADs
const N_T = 16; // AEAD tag, both AEADs
const MAX_EXPORT = 255 * N_H; // HKDF-Expand limit
const DEFAULT_AEAD: AeadId = 3;

const AEADS = {
  1: { nk: 16, cipher: gcm },
  3: { nk: 32, cipher: chacha20poly1305 },
} as const;

const EMPTY = new Uint8Array(0);
const HPKE_V1 = utf8ToBytes('HPKE-v1');
const KEM_SUITE_ID = concatBytes(utf8ToBytes('KEM'), i2osp(KEM_ID, 2));

function i2osp(n: number, w: number): Uint8Array {
  const out = new Uint8Array(w);
  for (let i = w - 1; i >= 0; i--, n = Math.floor(n / 256)) out[i] = n & 0xff;
  return out;
}

function hpkeSuiteId(aead: AeadId): Uint8Array {
  return concatBytes(utf8ToBytes('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(aead, 2));
}

function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concatBytes(HPKE_V1, suiteId, utf8ToBytes(label), ikm), salt);
}

function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number): Uint8Array {
  return expand(sha256, prk, concatBytes(i2osp(L, 2), HPKE_V1, suiteId, utf8ToBytes(label), info), L);
}

function checkAead(opts: unknown): AeadId {
  if (opts === undefined) return DEFAULT_AEAD;
  if (typeof opts !== 'object' || opts === null) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'HPKE options must be an object');
  }
  const aead = (opts as HpkeOptions).aead;
  if (aead === undefined) return DEFAULT_AEAD;
  if (aead !== 1 && aead !== 3) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported HPKE AEAD');
  return aead;
}

function cannotOpen(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, 'cannot open envelope');
}

// ---- KEM ----

/** A fresh random X25519 key pair. */
export function generateKeyPair(): KeyPair {
  return x25519KeyPair();
}

/** RFC 9180 §7.1.3 DeriveKeyPair for X25519: the secret key is the expanded bytes as is. */
export function deriveKeyPair(ikm: Uint8Array): KeyPair {
  assertBytes(ikm, 'ikm');
  // §7.1.3: ikm MUST carry at least Nsk bytes of entropy; fewer bytes cannot.
  if (ikm.length < N_KEY) throw new HushwireError(ErrorCode.BAD_REQUEST, `ikm must be at least ${N_KEY} bytes`);
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  const secretKey = labeledExpand(KEM_SUITE_ID, dkpPrk, 'sk', EMPTY, N_KEY);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, 'eae_prk', dh);
  return labeledExpand(KEM_SUITE_ID, eaePrk, 'shared_secret', kemContext, N_SECRET);
}

function encap(pkR: Uint8Array, ikmE?: Uint8Array): { sharedSecret: Uint8Array; enc: Uint8Array } {
  const { secretKey: skE, publicKey: pkE } = ikmE === undefined ? generateKeyPair() : deriveKeyPair(ikmE);
  let dh: Uint8Array;
  try {
    // Low-order points (an all-zero DH output) are refused, as RFC 9180 §7.1.4 requires.
    dh = x25519SharedSecret(skE, pkR);
  } catch {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'recipient public key is not a usable X25519 key');
  }
  return { sharedSecret: extractAndExpand(dh, concatBytes(pkE, pkR)), enc: pkE };
}

function decap(enc: Uint8Array, skR: Uint8Array): Uint8Array {
  let dh: Uint8Array;
  try {
    dh = x25519SharedSecret(skR, enc);
  } catch {
    throw cannotOpen(); // a low-order enc: as undecryptable as a bad tag
  }
  return extractAndExpand(dh, concatBytes(enc, x25519PublicKey(skR)));
}

// ---- key schedule and context ----

interface Schedule {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

function keySchedule(aead: AeadId, sharedSecret: Uint8Array, info: Uint8Array): Schedule {
  const suiteId = hpkeSuiteId(aead);
  // Base mode: psk and psk_id are empty.
  const pskIdHash = labeledExtract(suiteId, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(suiteId, EMPTY, 'info_hash', info);
  const ctx = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', EMPTY);
  return {
    key: labeledExpand(suiteId, secret, 'key', ctx, AEADS[aead].nk),
    baseNonce: labeledExpand(suiteId, secret, 'base_nonce', ctx, N_N),
    exporterSecret: labeledExpand(suiteId, secret, 'exp', ctx, N_H),
  };
}

/**
 * An HPKE encryption context. A sender context only seals and a recipient context only
 * opens (RFC 9180 §5.2): letting both sides seal under one key and nonce sequence would
 * reuse nonces. The role is checked at run time and by the exported types.
 */
class HpkeContext {
  readonly #role: 'sender' | 'recipient';
  readonly #suiteId: Uint8Array;
  readonly #aead: AeadId;
  readonly #key: Uint8Array;
  readonly #baseNonce: Uint8Array;
  readonly #exporterSecret: Uint8Array;
  #seq = 0;

  constructor(role: 'sender' | 'recipient', aead: AeadId, s: Schedule) {
    this.#role = role;
    this.#aead = aead;
    this.#suiteId = hpkeSuiteId(aead);
    this.#key = s.key;
    this.#baseNonce = s.baseNonce;
    this.#exporterSecret = s.exporterSecret;
  }

  /** Messages sealed or opened so far (the next sequence number). */
  get seq(): number {
    return this.#seq;
  }

  // nonce = base_nonce XOR I2OSP(seq, Nn). seq is a safe integer, so 8 bytes hold it.
  #nonce(): Uint8Array {
    const n = this.#baseNonce.slice();
    const s = i2osp(this.#seq, 8);
    for (let i = 0; i < 8; i++) n[N_N - 8 + i] ^= s[i];
    return n;
  }

  #increment(): void {
    // RFC 9180 allows 2^96 - 1 messages; stopping at 2^53 - 1 keeps the counter exact.
    if (this.#seq >= Number.MAX_SAFE_INTEGER) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'HPKE message limit reached');
    }
    this.#seq++;
  }

  seal(aad: Uint8Array, pt: Uint8Array): Uint8Array {
    if (this.#role !== 'sender') throw new HushwireError(ErrorCode.BAD_REQUEST, 'HPKE recipient context cannot seal');
    assertBytes(aad, 'aad');
    assertBytes(pt, 'plaintext');
    const ct = AEADS[this.#aead].cipher(this.#key, this.#nonce(), aad).encrypt(pt);
    this.#increment();
    return ct;
  }

  open(aad: Uint8Array, ct: Uint8Array): Uint8Array {
    if (this.#role !== 'recipient') throw new HushwireError(ErrorCode.BAD_REQUEST, 'HPKE sender context cannot open');
    assertBytes(aad, 'aad');
    assertBytes(ct, 'ciphertext');
    if (ct.length < N_T) throw cannotOpen();
    let pt: Uint8Array;
    try {
      pt = AEADS[this.#aead].cipher(this.#key, this.#nonce(), aad).decrypt(ct);
    } catch {
      throw cannotOpen(); // the sequence number stays put: a forgery must not desync us
    }
    this.#increment();
    return pt;
  }

  export(exporterContext: Uint8Array, L: number): Uint8Array {
    assertBytes(exporterContext, 'exporter context');
    if (typeof L !== 'number' || !Number.isInteger(L) || L < 1 || L > MAX_EXPORT) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, `export length must be an integer from 1 to ${MAX_EXPORT}`);
    }
    return labeledExpand(this.#suiteId, this.#exporterSecret, 'sec', exporterContext, L);
  }
}

export type SenderContext = Omit<HpkeContext, 'open'>;
export type RecipientContext = Omit<HpkeContext, 'seal'>;

// ---- public API ----

export function setupBaseS(pkR: Uint8Array, info: Uint8Array, opts?: SenderOptions): { enc: Uint8Array; ctx: SenderContext } {
  const aead = checkAead(opts);
  assertBytes(pkR, 'recipient public key', N_KEY);
  assertBytes(info, 'info');
  const ikmE = opts?.ikmE;
  if (ikmE !== undefined) assertBytes(ikmE, 'ikmE');
  const { sharedSecret, enc } = encap(pkR, ikmE);
  return { enc, ctx: new HpkeContext('sender', aead, keySchedule(aead, sharedSecret, info)) };
}

export function setupBaseR(enc: Uint8Array, skR: Uint8Array, info: Uint8Array, opts?: HpkeOptions): RecipientContext {
  const aead = checkAead(opts);
  assertBytes(enc, 'enc', N_KEY);
  assertBytes(skR, 'recipient secret key', N_KEY);
  assertBytes(info, 'info');
  return new HpkeContext('recipient', aead, keySchedule(aead, decap(enc, skR), info));
}

/** Single-shot seal: one message, so sequence number 0. */
export function sealBase(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  pt: Uint8Array,
  opts?: SenderOptions,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, ctx } = setupBaseS(pkR, info, opts);
  return { enc, ciphertext: ctx.seal(aad, pt) };
}

/** Single-shot open; any failure is HushwireError BAD_REQUEST 'cannot open envelope'. */
export function openBase(
  skR: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  opts?: HpkeOptions,
): Uint8Array {
  return setupBaseR(enc, skR, info, opts).open(aad, ciphertext);
}

/**
 * Test-only: the intermediate values RFC 9180's vectors list (shared_secret, key,
 * base_nonce, exporter_secret). It hands out secrets; product code must not use it.
 */
export const _test = Object.freeze({ encap, decap, keySchedule });
