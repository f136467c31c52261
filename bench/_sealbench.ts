import { randomBytes } from 'node:crypto';
import { sealEnvelope } from '../relay/crypto/seal.ts';
import { generateIdentity } from '../relay/crypto/sign.ts';
import { x25519 } from '@noble/curves/ed25519.js';
const id = generateIdentity();
const prekey = x25519.getPublicKey(x25519.utils.randomSecretKey());
const p = { recipient: { route: randomBytes(32), device: randomBytes(16), prekey }, sender: { route: randomBytes(32), device: randomBytes(16), identitySecret: id.secretKey, identityPublic: id.publicKey, number: '+14155550100' }, body: new TextEncoder().encode('hello there, seventy characters of text to seal for the bench test, ok'), seq: 1, clientTs: Date.now() };
for (let r = 0; r < 3; r++) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < 500; i++) sealEnvelope(p as never);
  console.log(`seal: ${(Number(process.hrtime.bigint() - t) / 500 / 1000).toFixed(0)} us`);
}
import { identityPublicKey, sign } from '../relay/crypto/sign.ts';
import { sealBase } from '../relay/crypto/hpke.ts';
const m = randomBytes(300);
const time = (name: string, f: () => unknown) => { const t = process.hrtime.bigint(); for (let i = 0; i < 300; i++) f(); console.log(name, (Number(process.hrtime.bigint() - t) / 300 / 1000).toFixed(0), 'us'); };
time('identityPublicKey', () => identityPublicKey(id.secretKey));
time('sign', () => sign(id.secretKey, m));
time('sealBase', () => sealBase(prekey, new Uint8Array(8), new Uint8Array(60), m));
