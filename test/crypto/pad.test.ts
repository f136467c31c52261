// ISO/IEC 7816-4 padding to fixed buckets.
import t from 'tap';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { pad, unpad, bucketFor, PAD_BUCKETS, MAX_PADDED_CONTENT } from '../../relay/crypto/pad.ts';

const rand = (n: number) => new Uint8Array(nodeRandomBytes(n));

t.test('buckets', async (t) => {
  t.same([...PAD_BUCKETS], [256, 1024, 4096, 16384, 65536]);
  t.ok(Object.isFrozen(PAD_BUCKETS));
  t.equal(MAX_PADDED_CONTENT, 65535);
  t.equal(bucketFor(0), 256);
  t.equal(bucketFor(255), 256);
  t.equal(bucketFor(256), 1024, 'a full bucket needs room for the marker');
  t.equal(bucketFor(65535), 65536);
  t.equal(bucketFor(65536), -1);
});

t.test('exact bytes', async (t) => {
  const p = pad(Uint8Array.of(1, 2, 3));
  t.equal(p.length, 256);
  t.equal(bytesToHex(p), '01020380' + '00'.repeat(252));
  t.equal(bytesToHex(pad(new Uint8Array(0))), '80' + '00'.repeat(255));
  const full = pad(new Uint8Array(255).fill(0xff));
  t.equal(full.length, 256);
  t.equal(full[255], 0x80);
  t.same([...unpad(p)], [1, 2, 3]);
});

t.test('roundtrip at and around every bucket edge, and content ending in 0x00 / 0x80', async (t) => {
  const sizes = [0, 1, 2];
  for (const b of PAD_BUCKETS) sizes.push(b - 2, b - 1, b, b + 1);
  const fits = sizes.filter((s) => s <= MAX_PADDED_CONTENT);
  for (const size of fits) {
    for (const tail of [undefined, 0x00, 0x80]) {
      const pt = rand(size);
      if (tail !== undefined && size > 0) pt[size - 1] = tail;
      const p = pad(pt);
      if (p.length !== bucketFor(size)) t.fail(`size ${size}: bucket ${p.length}`);
      if (bytesToHex(unpad(p)) !== bytesToHex(pt)) t.fail(`size ${size} tail ${tail}`);
    }
  }
  t.pass(`${fits.length * 3} roundtrips`);
  for (let i = 0; i < 200; i++) {
    const pt = rand(Math.floor(Math.random() * 20000));
    if (bytesToHex(unpad(pad(pt))) !== bytesToHex(pt)) t.fail(`random ${pt.length}`);
  }
  t.pass('200 random roundtrips');
});

t.test('unpad returns a copy', async (t) => {
  const p = pad(Uint8Array.of(9));
  const u = unpad(p);
  p[0] = 0;
  t.equal(u[0], 9);
});

t.test('too large is TOO_LARGE', async (t) => {
  t.throws(() => pad(new Uint8Array(65536)), { name: 'HushwireError', code: 'TOO_LARGE' });
  t.throws(() => pad(new Uint8Array(100000)), { code: 'TOO_LARGE' });
  t.equal(pad(new Uint8Array(65535)).length, 65536);
});

t.test('bad padding and bad lengths are refused', async (t) => {
  const BAD = { name: 'HushwireError', code: 'BAD_REQUEST' };
  t.throws(() => unpad(new Uint8Array(256)), { ...BAD, message: 'bad padding' }, 'all zeros');
  const noMarker = new Uint8Array(256);
  noMarker[10] = 0x81;
  t.throws(() => unpad(noMarker), { ...BAD, message: 'bad padding' }, 'wrong marker');
  const trailing = pad(Uint8Array.of(1));
  trailing[255] = 1;
  t.throws(() => unpad(trailing), { ...BAD, message: 'bad padding' }, 'junk after the marker');
  t.throws(() => unpad(new Uint8Array(255)), { ...BAD, message: 'padded length is not a bucket size' });
  t.throws(() => unpad(new Uint8Array(0)), BAD);
  t.throws(() => unpad(new Uint8Array(257).fill(0x80)), BAD);
});

t.test('wrong types are BAD_REQUEST', async (t) => {
  type F = (...a: unknown[]) => unknown;
  for (const v of ['text', 12, null, undefined, [1, 2], {}]) {
    t.throws(() => (pad as F)(v), { name: 'HushwireError', code: 'BAD_REQUEST' }, `pad ${typeof v}`);
    t.throws(() => (unpad as F)(v), { name: 'HushwireError', code: 'BAD_REQUEST' }, `unpad ${typeof v}`);
  }
});
