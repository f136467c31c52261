// Random bytes for per-connection values (challenge nonces, connection ids), drawn from
// a pool refilled POOL_BYTES at a time.
//
// crypto.randomBytes() is one call into OpenSSL's generator (and one new ArrayBuffer)
// per use: on a reconnect storm the two calls of every new connection were ~4% of a
// gateway's busy time. Filling a block at once gives the same CSPRNG output at a
// fraction of the cost. A block is used once, front to back: no byte is handed out
// twice. The returned arrays are views of the block (copy one that must outlive the
// connection for long: it keeps its block alive).
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;

let block = new Uint8Array(0);
let at = 0;

/** `n` fresh random bytes (n ≤ POOL_BYTES), a view of the current block. */
export function pooledRandomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > POOL_BYTES) throw new RangeError('pooledRandomBytes: 0 to 4096 bytes');
  if (at + n > block.length) {
    // A new block rather than refilling the old one: views handed out keep their bytes.
    block = randomFillSync(new Uint8Array(POOL_BYTES));
    at = 0;
  }
  const out = block.subarray(at, at + n);
  at += n;
  return out;
}
