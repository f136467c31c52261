// A bench handset's Auth.proof for a resume (docs/PROTOCOL.md, section 13) through
// node:crypto's HMAC: relay/crypto/resume.ts's resumeProof is noble's JS (it runs in the
// portable SDK too), and in a reconnect storm every microsecond the generator spends is
// one the gateways on the same cores do not get. The same bytes:
// HMAC-SHA256(K, "hushwire resume proof v1" 0x00 || nonce || route || device), fed in
// pieces rather than concatenated (test/bench/resume-proof.test.ts checks both agree).
import { createHmac } from 'node:crypto';
import { label0 } from '../../relay/crypto/bytes.ts';

const PROOF_LABEL = label0('hushwire resume proof v1');

export function fastResumeProof(secret: Uint8Array, nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Uint8Array {
  const mac = createHmac('sha256', secret).update(PROOF_LABEL).update(nonce).update(route).update(device).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
}
