// Resumption (docs/PROTOCOL.md, section 13): the bytes both ends compute, so a device
// that authenticated once with its Ed25519 signature can authenticate its next
// connections with a ticket and an HMAC over the new challenge instead.
//
// Why: one Ed25519 verification per connect was the largest single item of a reconnect
// storm on the gateways (docs/BENCHMARKS.md: ~70 µs of ~250 per reconnect on the AMD
// host); opening a ticket (AES-256-GCM) and checking an HMAC-SHA256 cost a few µs.
//
// What keeps it as strong as the signature it stands in for (DESIGN.md: "no bearer secret
// that can be replayed"):
// - The resumption secret never crosses the wire. The device sends a fresh X25519
//   public key on its authenticated connection; both ends derive the secret from the
//   X25519 shared secret with the gateway's key (Challenge.resume_key), bound to the
//   device and both public keys. Only the gateway's copy travels, sealed inside the
//   ticket under a key only gateways hold.
// - A ticket alone authenticates nothing: each resume proves the secret with an HMAC over
//   the new connection's fresh nonce (nothing to replay).
// - The ticket is bound (AES-GCM associated data) to the route's tag, the device and the
//   device's identity key as the directory holds it: a device erased on opt-out, or a
//   record with another key, has no ticket that opens.
// - A ticket key alone forges nothing: what a ticket binds is public (a lookup answers
//   it), so whoever held a ticket key could seal a secret of their own choosing for any
//   device. The gateway that issues a ticket therefore writes a one-way verifier of the
//   ticket and its secret into the device's directory record (resumeVerifier: at most 4,
//   newest first), and a resume is accepted only when its ticket has one there. Forging
//   then needs a directory write too, which is a NATS credential that allows everything
//   anyway. The verifier covers the whole ticket as issued (its expiry, key id and IV
//   included), not the secret alone: with a ticket key and a secret taken from a device,
//   re-sealing that secret with a later expiry (or under another key) makes a ticket
//   whose verifier the record does not hold (test/gateway/resume-reseal.test.ts).
//
// Functions here have no I/O and use noble (they run in the portable SDK too); the
// gateway's hot path, opening a ticket and checking a proof, is in relay/resume-tickets.ts
// on node:crypto, cross-checked against these in test/crypto/resume.test.ts.
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { assertRoute, assertDevice } from '../token-shape.ts';
import { assertBytes, label0 } from './bytes.ts';
import { HushwireError, ErrorCode } from '../errors.ts';
import { NONCE_BYTES } from './sign.ts';

/** The resumption secret and an Auth.proof are this long (SHA-256). */
export const RESUME_SECRET_BYTES = 32;
export const RESUME_PROOF_BYTES = 32;
/** X25519 public keys (Challenge.resume_key, TicketRequest.public_key). */
export const RESUME_PUBLIC_KEY_BYTES = 32;
/** A resume verifier (DirectoryDevice.resume_verifiers) is this long, and a device record
 *  keeps at most this many (newest first): the tickets of its last 4 ticket requests.
 *  The SDK holds at most as many tickets (client/resume.ts RESUME_MAX_TICKETS): one it
 *  held beyond these would be refused. */
export const RESUME_VERIFIER_BYTES = 16;
export const MAX_RESUME_VERIFIERS = 4;

const SECRET_LABEL = label0('hushwire resume secret v1');
/** The label Auth.proof's input starts with (also fed to node:crypto's HMAC in pieces:
 *  relay/resume-tickets.ts resumeProofNode). */
export const PROOF_LABEL = label0('hushwire resume proof v1');
/** The label a resume verifier's input starts with (also fed to node:crypto's SHA-256:
 *  relay/resume-tickets.ts resumeVerifierNode). */
export const VERIFIER_LABEL = label0('hushwire resume verifier v2');
/** The most bytes a ticket may have for resumeVerifier (the gateways' are 69: tickets are
 *  opaque to the device, so a later format may be longer; far more is not a ticket). */
export const MAX_TICKET_BYTES = 1024;

/**
 * The resumption secret of a TicketRequest, on both ends: HKDF-SHA256(ikm = the X25519
 * shared secret of the device's fresh key and the gateway's Challenge.resume_key,
 * salt = empty, info = "hushwire resume secret v1" 0x00 || device || device_public_key ||
 * resume_key, 32 bytes). Both public keys go into the info as a KEM's context does; the
 * route is not needed here (the gateway keeps only its tag once authenticated): the
 * ticket binds the route, the proof covers it on every resume.
 */
export function ticketSecret(shared: Uint8Array, device: Uint8Array, devicePublicKey: Uint8Array, resumeKey: Uint8Array): Uint8Array {
  assertBytes(shared, 'shared secret', 32);
  assertDevice(device);
  assertBytes(devicePublicKey, 'device public key', RESUME_PUBLIC_KEY_BYTES);
  assertBytes(resumeKey, 'resume key', RESUME_PUBLIC_KEY_BYTES);
  return hkdf(sha256, shared, new Uint8Array(0), concatBytes(SECRET_LABEL, device, devicePublicKey, resumeKey), RESUME_SECRET_BYTES);
}

/** What Auth.proof covers: "hushwire resume proof v1" 0x00 || nonce || route || device. */
export function resumeProofInput(nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Uint8Array {
  assertBytes(nonce, 'nonce', NONCE_BYTES);
  assertRoute(route);
  assertDevice(device);
  return concatBytes(PROOF_LABEL, nonce, route, device);
}

/** Auth.proof = HMAC-SHA256(resumption secret, resumeProofInput(nonce, route, device)). */
export function resumeProof(secret: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Uint8Array {
  assertBytes(secret, 'resumption secret', RESUME_SECRET_BYTES);
  return hmac(sha256, secret, resumeProofInput(nonce, route, device));
}

/** What the directory record keeps of a ticket: the first 16 bytes of
 *  SHA-256("hushwire resume verifier v2" 0x00 || ticket || secret), the ticket as issued
 *  (all its bytes: version, key id, IV, the sealed expiry and secret, the tag) and the
 *  resumption secret inside it. One-way: the record (and whoever reads the directory)
 *  learns nothing of the secret from it, and no ticket key makes one appear there. Bound
 *  to the whole ticket, so the same secret sealed again (another expiry, key or IV) has
 *  another verifier. (v1, before: SHA-256("hushwire resume verifier v1" 0x00 || secret),
 *  the secret alone; such verifiers match no ticket any more.) */
export function resumeVerifier(ticket: Uint8Array, secret: Uint8Array): Uint8Array {
  assertBytes(ticket, 'ticket');
  if (ticket.length === 0 || ticket.length > MAX_TICKET_BYTES) throw new HushwireError(ErrorCode.BAD_REQUEST, `ticket must be 1 to ${MAX_TICKET_BYTES} bytes`);
  assertBytes(secret, 'resumption secret', RESUME_SECRET_BYTES);
  return sha256(concatBytes(VERIFIER_LABEL, ticket, secret)).slice(0, RESUME_VERIFIER_BYTES);
}
