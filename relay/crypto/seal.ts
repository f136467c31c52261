// Sealed-sender envelopes: the relay sees only the recipient (route, device), a random
// id, the HPKE enc and a bucket-sized ciphertext. Who sent it, and the sender's number,
// are inside the encryption, signed by the sender's Ed25519 identity key.
//
//   aad       = "hushwire envelope v1" 0x00 || version(1) || suite(1) || route || device || id
//   signature = Ed25519(sender identity, "hushwire sealed v1" 0x00 || aad || Sealed without field 9)
//   plaintext = pad(Sealed fields 1..9)
//   (enc, ciphertext) = HPKE base, info "hushwire sealed sender v1", to the recipient prekey
//
// The aad binds the outer fields the relay reads, so the relay cannot redirect or
// re-id an envelope. The signature covers the aad too, so a recipient cannot re-seal a
// sender's signed message to someone else as if it had been sent to them.
//
// What openEnvelope proves: the holder of senderIdentityKey wrote this for this device.
// It does not prove that senderIdentityKey belongs to senderRoute/senderDevice, nor that
// senderNumber maps to senderRoute: the client checks both against the directory
// (Lookup) and the OPRF before it shows a sender.
import { equalBytes } from '@noble/curves/utils.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import protobuf from 'protobufjs/minimal.js';
import { HushwireError, ErrorCode } from '../errors.ts';
import { parseE164 } from '../number.ts';
import { assertRoute, assertDevice } from '../token-shape.ts';
import {
  wire,
  PROTOCOL_VERSION,
  SUITE_HPKE_X25519_CHACHA,
  ROUTE_BYTES,
  DEVICE_BYTES,
  ENVELOPE_ID_BYTES,
  type Envelope,
  type EnvelopeProps,
  type SealedProps,
} from '../wire.ts';
import { assertBytes, assertSafeUint, label0 } from './bytes.ts';
import { sealBase, openBase, X25519_KEY_BYTES } from './hpke.ts';
import { pad, unpad, PAD_BUCKETS } from './pad.ts';
import { sign, verify, identityPublicKey, IDENTITY_KEY_BYTES, SIGNATURE_BYTES } from './sign.ts';

const AAD_LABEL = label0('hushwire envelope v1');
const SIG_LABEL = label0('hushwire sealed v1');
const HPKE_INFO = utf8ToBytes('hushwire sealed sender v1');
const HPKE_TAG_BYTES = 16;
const SIGNATURE_FIELD = 9; // Sealed.signature
export const CONTENT_TYPE_TEXT = 1; // UTF-8 text

export interface SealParams {
  recipient: { route: Uint8Array; device: Uint8Array; /** X25519 public prekey */ prekey: Uint8Array };
  sender: {
    route: Uint8Array;
    device: Uint8Array;
    identitySecret: Uint8Array;
    identityPublic: Uint8Array;
    number: string;
  };
  body: Uint8Array;
  contentType?: number;
  seq: number;
  clientTs: number;
  /** 16 bytes; random by default. */
  id?: Uint8Array;
}

export interface RecipientKeys {
  route: Uint8Array;
  device: Uint8Array;
  /** X25519 secret prekey */
  prekeySecret: Uint8Array;
}

export interface Opened {
  senderRoute: Uint8Array;
  senderDevice: Uint8Array;
  senderIdentityKey: Uint8Array;
  senderNumber: string;
  clientTs: number;
  contentType: number;
  body: Uint8Array;
  seq: number;
  id: Uint8Array;
}

/** The HPKE associated data of an envelope (also inside the sender's signature). */
export function envelopeAad(version: number, suite: number, route: Uint8Array, device: Uint8Array, id: Uint8Array): Uint8Array {
  if (!isByte(version) || !isByte(suite)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'version and suite must be 0..255');
  assertRoute(route);
  assertDevice(device);
  assertBytes(id, 'envelope id', ENVELOPE_ID_BYTES);
  return concatBytes(AAD_LABEL, Uint8Array.of(version, suite), route, device, id);
}

export function sealEnvelope(p: SealParams): EnvelopeProps {
  if (!isObject(p) || !isObject(p.recipient) || !isObject(p.sender)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'seal parameters must be objects');
  }
  const { recipient: r, sender: s } = p;
  assertRoute(r.route);
  assertDevice(r.device);
  assertBytes(r.prekey, 'recipient prekey', X25519_KEY_BYTES);
  assertRoute(s.route);
  assertDevice(s.device);
  assertBytes(s.identitySecret, 'sender identity secret key', IDENTITY_KEY_BYTES);
  assertBytes(s.identityPublic, 'sender identity public key', IDENTITY_KEY_BYTES);
  const number = parseE164(s.number);
  assertBytes(p.body, 'body');
  const contentType = p.contentType ?? CONTENT_TYPE_TEXT;
  if (!Number.isInteger(contentType) || contentType < 0 || contentType > 0xffffffff) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'content type must be a uint32');
  }
  assertSafeUint(p.seq, 'seq');
  assertSafeUint(p.clientTs, 'client timestamp');
  const id = p.id ?? randomBytes(ENVELOPE_ID_BYTES);
  assertBytes(id, 'envelope id', ENVELOPE_ID_BYTES);
  // A mismatched pair would seal envelopes that no recipient can ever verify.
  if (!equalBytes(identityPublicKey(s.identitySecret), s.identityPublic)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'sender identity public key does not match the secret key');
  }

  const aad = envelopeAad(PROTOCOL_VERSION, SUITE_HPKE_X25519_CHACHA, r.route, r.device, id);
  const fields: SealedProps = {
    senderRoute: s.route,
    senderDevice: s.device,
    senderIdentityKey: s.identityPublic,
    senderNumber: number,
    clientTs: p.clientTs,
    contentType,
    body: p.body,
    seq: p.seq,
  };
  // The signature field is encoded last, so the signed bytes are the sent bytes minus it.
  const signature = sign(s.identitySecret, concatBytes(SIG_LABEL, aad, wire.Sealed.encode(fields).finish()));
  const plaintext = pad(wire.Sealed.encode({ ...fields, signature }).finish());
  const { enc, ciphertext } = sealBase(r.prekey, HPKE_INFO, aad, plaintext);
  return {
    version: PROTOCOL_VERSION,
    route: r.route,
    device: r.device,
    id,
    suite: SUITE_HPKE_X25519_CHACHA,
    enc,
    ciphertext,
    serverTs: 0,
  };
}

export function openEnvelope(env: Envelope | EnvelopeProps, recipient: RecipientKeys): Opened {
  if (!isObject(env) || !isObject(recipient)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'envelope and recipient must be objects');
  assertRoute(recipient.route);
  assertDevice(recipient.device);
  assertBytes(recipient.prekeySecret, 'recipient prekey secret', X25519_KEY_BYTES);
  if (env.version !== PROTOCOL_VERSION) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope version');
  if (env.suite !== SUITE_HPKE_X25519_CHACHA) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope suite');
  assertRoute(env.route);
  assertDevice(env.device);
  assertBytes(env.id, 'envelope id', ENVELOPE_ID_BYTES);
  assertBytes(env.enc, 'enc', X25519_KEY_BYTES);
  assertBytes(env.ciphertext, 'ciphertext');
  if (!equalBytes(env.route, recipient.route) || !equalBytes(env.device, recipient.device)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'envelope is not addressed to this device');
  }
  if (!PAD_BUCKETS.includes(env.ciphertext.length - HPKE_TAG_BYTES)) throw cannotOpen();

  const aad = envelopeAad(env.version, env.suite, env.route, env.device, env.id);
  const plaintext = openBase(recipient.prekeySecret, env.enc, HPKE_INFO, aad, env.ciphertext);
  // Past this point the AEAD vouches for the bytes, but anyone can encrypt to a prekey:
  // until the signature checks out, a malformed inside is just an unopenable envelope.
  let content: Uint8Array;
  let sealed: ReturnType<typeof wire.Sealed.decode>;
  let number: string;
  try {
    content = unpad(plaintext);
    sealed = wire.Sealed.decode(content);
    number = parseE164(sealed.senderNumber);
  } catch {
    throw cannotOpen();
  }
  const { senderRoute, senderDevice, senderIdentityKey, signature } = sealed;
  if (
    senderRoute.length !== ROUTE_BYTES ||
    senderDevice.length !== DEVICE_BYTES ||
    senderIdentityKey.length !== IDENTITY_KEY_BYTES ||
    signature.length !== SIGNATURE_BYTES
  ) {
    throw cannotOpen();
  }
  if (!verify(senderIdentityKey, concatBytes(SIG_LABEL, aad, withoutSignature(content)), signature)) {
    throw new HushwireError(ErrorCode.AUTH_FAILED, 'sender signature did not verify');
  }
  return {
    senderRoute,
    senderDevice,
    senderIdentityKey,
    senderNumber: number,
    clientTs: Number(sealed.clientTs),
    contentType: sealed.contentType,
    body: sealed.body,
    seq: Number(sealed.seq),
    id: env.id,
  };
}

/**
 * The Sealed bytes as received with every signature (field 9) record cut out: exactly
 * the bytes the sender signed. Verifying these, rather than a re-encoding of the decoded
 * message, keeps the check independent of how an encoder orders fields or writes
 * defaults, and keeps fields this version does not know (which the decoder drops)
 * covered by the signature. Called only on bytes that already decoded.
 */
function withoutSignature(encoded: Uint8Array): Uint8Array {
  const r = protobuf.Reader.create(encoded);
  const kept: Uint8Array[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    r.skipType(tag & 7, 0, tag >>> 3);
    if (tag >>> 3 !== SIGNATURE_FIELD) kept.push(encoded.subarray(start, r.pos));
  }
  return concatBytes(...kept);
}

function cannotOpen(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, 'cannot open envelope');
}

function isObject(v: unknown): v is Record<string, unknown> & object {
  return typeof v === 'object' && v !== null;
}

function isByte(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255;
}
