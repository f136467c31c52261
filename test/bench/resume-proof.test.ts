// The node:crypto resume proof (relay/resume-tickets.ts resumeProofNode: the gateway's
// check and the bench handsets' proofs) gives the bytes of relay/crypto/resume.ts's
// resumeProof, the SDK's.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { resumeProofNode as fastResumeProof } from '../../relay/resume-tickets.ts';
import { resumeProof } from '../../relay/crypto/resume.ts';

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
