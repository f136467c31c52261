// The node:crypto resume proof (relay/resume-tickets.ts resumeProofNode: the gateway's
// check) and the bench handsets' (bench/drivers/resume-prover.ts: libsodium's SHA-256
// from precomputed key states) give the bytes of relay/crypto/resume.ts's resumeProof,
// the SDK's.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { resumeProofNode as fastResumeProof } from '../../relay/resume-tickets.ts';
import { resumeProof } from '../../relay/crypto/resume.ts';
import { sodium } from '../../relay/crypto/sodium.ts';
import { proverIsNative, resumeProver } from '../../bench/drivers/resume-prover.ts';

t.test('resumeProofNode = resumeProof, for random inputs', async (t) => {
  for (let i = 0; i < 200; i++) {
    const [k, nonce, route, device] = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(16)].map((b) => new Uint8Array(b)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const want = Buffer.from(resumeProof(k, nonce, route, device)).toString('hex');
    const got = Buffer.from(fastResumeProof(k, nonce, route, device)).toString('hex');
    if (got !== want) {
      t.fail(`differs for input ${i}: ${got} vs ${want}`);
      return;
    }
  }
  t.pass('200 random inputs agree');
  const k = new Uint8Array(32).fill(1);
  const p = fastResumeProof(k, new Uint8Array(32).fill(2), new Uint8Array(32).fill(3), new Uint8Array(16).fill(4));
  t.ok(p instanceof Uint8Array && p.length === 32, '32 bytes');
  t.notSame(Buffer.from(p), Buffer.from(fastResumeProof(k, new Uint8Array(32).fill(2), new Uint8Array(32).fill(3), new Uint8Array(16).fill(5))), 'the device is covered');
});

t.test("the bench handset's prover (bench/drivers/resume-prover.ts): the same bytes, native and not, nonce after nonce", async (t) => {
  if (sodium !== null) t.ok(proverIsNative(), 'libsodium present: its SHA-256 makes the proofs');
  for (let i = 0; i < 50; i++) {
    const [k, route, device] = [randomBytes(32), randomBytes(32), randomBytes(16)].map((b) => new Uint8Array(b)) as [Uint8Array, Uint8Array, Uint8Array];
    const provers = [resumeProver(k, route, device), resumeProver(k, route, device, false)];
    // one prover, many nonces: nothing of the last proof is left in the next
    for (let j = 0; j < 10; j++) {
      const nonce = new Uint8Array(randomBytes(j === 9 ? 31 : 32));
      // the SDK's takes only 32-byte nonces; the gateway's check any
      const want = Buffer.from(nonce.length === 32 ? resumeProof(k, nonce, route, device) : fastResumeProof(k, nonce, route, device)).toString('hex');
      for (const [n, prove] of provers.entries()) {
        const got = Buffer.from(prove(nonce)).toString('hex');
        if (got !== want) {
          t.fail(`${n === 0 ? 'native' : 'node:crypto'} prover differs at key ${i}, nonce ${j}: ${got} vs ${want}`);
          return;
        }
      }
    }
  }
  t.pass('50 keys × 10 nonces agree with resumeProof (one of 31 bytes with resumeProofNode)');
  const k = new Uint8Array(32).fill(9);
  const prove = resumeProver(k, new Uint8Array(32).fill(3), new Uint8Array(16).fill(4));
  const a = prove(new Uint8Array(32).fill(1));
  const b = prove(new Uint8Array(32).fill(2));
  t.not(a, b, 'a new array per proof (the one before is not overwritten)');
  t.equal(Buffer.from(a).toString('hex'), Buffer.from(resumeProof(k, new Uint8Array(32).fill(1), new Uint8Array(32).fill(3), new Uint8Array(16).fill(4))).toString('hex'), 'the first proof unchanged by the second');
});
