// proto/gen (scripts/gen-proto.js): 64-bit fields decode as plain numbers, as their
// generated types say, not as long.js objects (which the types hid: `===` against a
// number was always false, and Number(long) went through a decimal string).
import t from 'tap';
import { wire } from '../../relay/wire.ts';
import { varintSize, writeVarint } from '../../relay/varint.ts';

const device = (over: Record<string, unknown> = {}) => ({
  device: new Uint8Array(16).fill(1),
  identityKey: new Uint8Array(32).fill(2),
  prekey: new Uint8Array(32).fill(3),
  prekeySignature: new Uint8Array(64).fill(4),
  ...over,
});

t.test('uint64 fields decode as numbers, set or left at their default', async (t) => {
  const now = Date.now();
  const bytes = wire.DirectoryEntry.encode({ devices: [device({ registeredAtMs: now, lastSeenMs: now + 1 })] }).finish();
  const d = wire.DirectoryEntry.decode(bytes).devices[0]!;
  t.equal(typeof d.registeredAtMs, 'number');
  t.equal(d.registeredAtMs, now, 'strictly equal to the number written');
  t.equal(d.lastSeenMs, now + 1);
  t.equal(typeof d.newDeviceNoticeAtMs, 'number', 'an absent field defaults to a number');
  t.equal(d.newDeviceNoticeAtMs, 0);
  t.notOk(Object.hasOwn(d, 'newDeviceNoticeAtMs'), 'the default lives on the prototype, not written');
});

t.test('the largest safe integer round-trips exactly; its encoding is the plain varint', async (t) => {
  for (const n of [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
    const bytes = wire.Sealed.encode({ seq: n }).finish();
    t.equal(wire.Sealed.decode(bytes).seq, n, `seq ${n}`);
    if (n === 0) {
      t.equal(bytes.length, 0, 'proto3: a zero is not written');
      continue;
    }
    // field 8, wire type 0: tag byte 0x40, then the LEB128 varint
    const want = new Uint8Array(1 + varintSize(n));
    want[0] = 0x40;
    writeVarint(want, 1, n);
    t.same([...bytes], [...want], `encoding of ${n}`);
  }
});

t.test('a value beyond 2^53 from a peer decodes to a finite number, not an error', async (t) => {
  // seq = 2^64 - 1: ten bytes of varint
  const bytes = Uint8Array.from([0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const s = wire.Sealed.decode(bytes);
  t.equal(typeof s.seq, 'number');
  t.ok(Number.isFinite(s.seq));
  t.ok(s.seq >= 2 ** 63, 'approximately 2^64');
});
