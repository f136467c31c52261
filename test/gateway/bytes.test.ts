// relay/bytes.ts: pooledBytes carves non-overlapping, aligned ranges from shared slabs,
// and what it returns behaves as a Uint8Array of its own (slice copies).
import t from 'tap';
import { randomInt } from 'node:crypto';
import { bytesEqual, hex, isBytes, pooledBytes } from '../../relay/bytes.ts';

t.test('pooledBytes: the requested length, 8-byte aligned, never overlapping a live one', async (t) => {
  const live: { b: Uint8Array; fill: number }[] = [];
  for (let i = 0; i < 20_000; i++) {
    const n = [0, 1, 7, 8, 9, 63, 100, 300, 4095, 4096, 5000][randomInt(0, 11)] as number;
    const b = pooledBytes(n);
    if (b.length !== n || Object.getPrototypeOf(b) !== Uint8Array.prototype) {
      t.fail(`length ${b.length} for ${n}, or not a plain Uint8Array`);
      return;
    }
    if (n < 4096 && b.byteOffset % 8 !== 0) {
      t.fail(`offset ${b.byteOffset} not aligned`);
      return;
    }
    const fill = i & 0xff;
    b.fill(fill);
    live.push({ b, fill });
    if (live.length > 300) live.shift();
  }
  // every one of the last 300 still holds what was written into it
  const broken = live.filter(({ b, fill }) => b.some((x) => x !== fill)).length;
  t.equal(broken, 0, 'no later request wrote over an earlier one');
});

t.test('pooledBytes: small requests share slabs, large ones do not; slice copies', async (t) => {
  const a = pooledBytes(16);
  const b = pooledBytes(16);
  t.ok(a.buffer === b.buffer || b.byteOffset === 0, 'consecutive small requests share a slab (or a new slab began)');
  t.ok(a.buffer.byteLength <= 8192, 'a slab is at most 8 KiB');
  const big = pooledBytes(4096);
  t.equal(big.byteOffset, 0);
  t.equal(big.buffer.byteLength, 4096, 'a request of half a slab or more has memory of its own');
  a.fill(1);
  const copy = a.slice();
  a.fill(2);
  t.same([...copy], new Array(16).fill(1), 'slice() is a copy, not a view of the slab');
  t.equal(copy.buffer.byteLength, 16);
});

t.test('hex, isBytes, bytesEqual', async (t) => {
  t.equal(hex(Uint8Array.of(0, 15, 255)), '000fff');
  t.ok(isBytes(new Uint8Array(3), 3));
  t.notOk(isBytes(new Uint8Array(3), 4));
  t.notOk(isBytes('abc'));
  t.ok(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)));
  t.notOk(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)));
  t.notOk(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 0)));
});
