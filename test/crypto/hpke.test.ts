// RFC 9180 base mode against the RFC's own Appendix A.1 (AES-128-GCM) and A.2
// (ChaCha20-Poly1305) vectors, then properties and input checks.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  generateKeyPair,
  deriveKeyPair,
  setupBaseS,
  setupBaseR,
  sealBase,
  openBase,
  _test,
  type AeadId,
} from '../../relay/crypto/hpke.ts';

interface Encryption {
  'sequence number': string;
  pt: string;
  aad: string;
  nonce: string;
  ct: string;
}
interface ModeVectors {
  name: string;
  setup: Record<string, string>;
  encryptions: Encryption[];
  exports: { exporter_context: string; L: string; exported_value: string }[];
}
const suites = JSON.parse(
  readFileSync(new URL('../fixtures/vectors/rfc9180-x25519-suites.json', import.meta.url), 'utf8'),
) as { suite: string; modes: ModeVectors[] }[];

// node's randomBytes, not noble's: noble caps one call at 64 KiB
const randomBytes = (n: number) => new Uint8Array(nodeRandomBytes(n));
const h = hexToBytes;
const hex = bytesToHex;
const BAD_REQUEST = { name: 'HushwireError', code: 'BAD_REQUEST' };
const CANNOT_OPEN = { name: 'HushwireError', code: 'BAD_REQUEST', message: 'cannot open envelope' };

const cases: { name: string; aead: AeadId }[] = [
  { name: 'A.1 AES-128-GCM', aead: 1 },
  { name: 'A.2 ChaCha20-Poly1305', aead: 3 },
];

for (const { name, aead } of cases) {
  const suite = suites.find((s) => s.modes[0].setup.aead_id === String(aead));
  if (!suite) throw new Error(`vector file lacks AEAD ${aead}`);
  const v = suite.modes.find((m) => m.name === 'Base');
  if (!v) throw new Error('no Base mode');
  const s = v.setup;

  t.test(`RFC 9180 ${name} base: header`, async (t) => {
    t.equal(s.mode, '0');
    t.equal(s.kem_id, '32');
    t.equal(s.kdf_id, '1');
    t.equal(v.encryptions.length, 6, 'six encryptions listed');
    t.equal(v.exports.length, 3, 'three exports listed');
  });

  t.test(`RFC 9180 ${name} base: DeriveKeyPair`, async (t) => {
    const e = deriveKeyPair(h(s.ikmE));
    t.equal(hex(e.secretKey), s.skEm);
    t.equal(hex(e.publicKey), s.pkEm);
    const r = deriveKeyPair(h(s.ikmR));
    t.equal(hex(r.secretKey), s.skRm);
    t.equal(hex(r.publicKey), s.pkRm);
  });

  t.test(`RFC 9180 ${name} base: KEM and key schedule`, async (t) => {
    const { sharedSecret, enc } = _test.encap(h(s.pkRm), h(s.ikmE));
    t.equal(hex(enc), s.enc);
    t.equal(hex(sharedSecret), s.shared_secret);
    t.equal(hex(_test.decap(h(s.enc), h(s.skRm))), s.shared_secret, 'decap agrees');
    const ks = _test.keySchedule(aead, sharedSecret, h(s.info));
    t.equal(hex(ks.key), s.key);
    t.equal(hex(ks.baseNonce), s.base_nonce);
    t.equal(hex(ks.exporterSecret), s.exporter_secret);
  });

  t.test(`RFC 9180 ${name} base: every encryption, in sequence`, async (t) => {
    const { enc, ctx: sender } = setupBaseS(h(s.pkRm), h(s.info), { aead, ikmE: h(s.ikmE) });
    t.equal(hex(enc), s.enc, 'sender reproduces enc from ikmE');
    const recipient = setupBaseR(enc, h(s.skRm), h(s.info), { aead });
    const bySeq = new Map(v.encryptions.map((e) => [Number(e['sequence number']), e]));
    const last = Math.max(...bySeq.keys());
    let checked = 0;
    // Walk every sequence number up to the last one listed (256), so both contexts'
    // counters and nonces are exercised exactly as the RFC's were.
    for (let seq = 0; seq <= last; seq++) {
      t.equal(sender.seq, seq);
      const e = bySeq.get(seq);
      const aad = e ? h(e.aad) : new TextEncoder().encode(`filler-${seq}`);
      const pt = e ? h(e.pt) : randomBytes(seq % 40);
      const ct = sender.seal(aad, pt);
      if (e) {
        t.equal(hex(ct), e.ct, `ciphertext at seq ${seq}`);
        checked++;
      }
      t.equal(hex(recipient.open(aad, ct)), hex(pt), `open at seq ${seq}`);
    }
    t.equal(checked, v.encryptions.length, 'all listed encryptions checked');
    t.equal(recipient.seq, last + 1);
  });

  t.test(`RFC 9180 ${name} base: every export, both sides`, async (t) => {
    const { ctx: sender } = setupBaseS(h(s.pkRm), h(s.info), { aead, ikmE: h(s.ikmE) });
    const recipient = setupBaseR(h(s.enc), h(s.skRm), h(s.info), { aead });
    for (const x of v.exports) {
      t.equal(hex(sender.export(h(x.exporter_context), Number(x.L))), x.exported_value);
      t.equal(hex(recipient.export(h(x.exporter_context), Number(x.L))), x.exported_value);
    }
  });

  t.test(`RFC 9180 ${name} base: single-shot matches seq 0`, async (t) => {
    const e0 = v.encryptions.find((e) => e['sequence number'] === '0');
    if (!e0) throw new Error('no seq 0');
    const { enc, ciphertext } = sealBase(h(s.pkRm), h(s.info), h(e0.aad), h(e0.pt), { aead, ikmE: h(s.ikmE) });
    t.equal(hex(enc), s.enc);
    t.equal(hex(ciphertext), e0.ct);
    t.equal(hex(openBase(h(s.skRm), enc, h(s.info), h(e0.aad), ciphertext, { aead })), e0.pt);
    // the other AEAD cannot open it
    t.throws(() => openBase(h(s.skRm), enc, h(s.info), h(e0.aad), ciphertext, { aead: aead === 1 ? 3 : 1 }), CANNOT_OPEN);
  });
}

t.test('default AEAD is ChaCha20-Poly1305 (A.2 ciphertext without options.aead)', async (t) => {
  const v = suites.find((s) => s.modes[0].setup.aead_id === '3')!.modes[0];
  const e0 = v.encryptions[0];
  const { ciphertext } = sealBase(h(v.setup.pkRm), h(v.setup.info), h(e0.aad), h(e0.pt), { ikmE: h(v.setup.ikmE) });
  t.equal(hex(ciphertext), e0.ct);
});

t.test('random roundtrips over many sizes, both AEADs', async (t) => {
  const sizes = [0, 1, 15, 16, 17, 63, 64, 255, 256, 1023, 4096, 65535, 65536 + 16];
  for (let i = 0; i < 20; i++) sizes.push(Math.floor(Math.random() * 5000));
  for (const aead of [1, 3] as const) {
    for (const size of sizes) {
      const { secretKey, publicKey } = generateKeyPair();
      const info = randomBytes(size % 70);
      const aad = randomBytes(size % 33);
      const pt = randomBytes(size);
      const { enc, ciphertext } = sealBase(publicKey, info, aad, pt, { aead });
      if (ciphertext.length !== size + 16) t.fail(`length ${size}`);
      const back = openBase(secretKey, enc, info, aad, ciphertext, { aead });
      if (hex(back) !== hex(pt)) t.fail(`roundtrip ${aead}/${size}`);
    }
  }
  t.pass(`${sizes.length * 2} roundtrips`);
});

t.test('a fresh ephemeral key per seal', async (t) => {
  const { publicKey } = generateKeyPair();
  const a = sealBase(publicKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(8));
  const b = sealBase(publicKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(8));
  t.not(hex(a.enc), hex(b.enc));
  t.not(hex(a.ciphertext), hex(b.ciphertext));
});

t.test('tampering or a wrong key fails with cannot open envelope', async (t) => {
  const r = generateKeyPair();
  const info = new TextEncoder().encode('info');
  const aad = new TextEncoder().encode('aad');
  const pt = new TextEncoder().encode('attack at dawn');
  const { enc, ciphertext } = sealBase(r.publicKey, info, aad, pt);
  const flip = (b: Uint8Array, i: number) => {
    const c = b.slice();
    c[i] ^= 1;
    return c;
  };
  t.equal(new TextDecoder().decode(openBase(r.secretKey, enc, info, aad, ciphertext)), 'attack at dawn');
  for (let i = 0; i < ciphertext.length; i++) {
    t.throws(() => openBase(r.secretKey, enc, info, aad, flip(ciphertext, i)), CANNOT_OPEN, `ct byte ${i}`);
  }
  t.throws(() => openBase(r.secretKey, flip(enc, 0), info, aad, ciphertext), CANNOT_OPEN, 'enc');
  t.throws(() => openBase(r.secretKey, enc, flip(info, 0), aad, ciphertext), CANNOT_OPEN, 'info');
  t.throws(() => openBase(r.secretKey, enc, info, flip(aad, 2), ciphertext), CANNOT_OPEN, 'aad');
  t.throws(() => openBase(generateKeyPair().secretKey, enc, info, aad, ciphertext), CANNOT_OPEN, 'other key');
  t.throws(() => openBase(r.secretKey, enc, info, aad, ciphertext.subarray(0, 15)), CANNOT_OPEN, 'shorter than a tag');
  t.throws(() => openBase(r.secretKey, enc, info, aad, ciphertext.subarray(0, ciphertext.length - 1)), CANNOT_OPEN, 'truncated');
  // low-order enc (u = 0): the DH output would be all zeros
  t.throws(() => openBase(r.secretKey, new Uint8Array(32), info, aad, ciphertext), CANNOT_OPEN, 'low-order enc');
});

t.test('a failed open does not advance the sequence; order matters', async (t) => {
  const r = generateKeyPair();
  const empty = new Uint8Array(0);
  const { enc, ctx: s } = setupBaseS(r.publicKey, empty);
  const c0 = s.seal(empty, Uint8Array.of(0));
  const c1 = s.seal(empty, Uint8Array.of(1));
  const rc = setupBaseR(enc, r.secretKey, empty);
  t.throws(() => rc.open(empty, c1), CANNOT_OPEN, 'out of order');
  t.equal(rc.seq, 0);
  t.same([...rc.open(empty, c0)], [0]);
  t.same([...rc.open(empty, c1)], [1]);
  t.throws(() => rc.open(empty, c1), CANNOT_OPEN, 'replay');
});

t.test('role separation: a sender cannot open, a recipient cannot seal', async (t) => {
  const r = generateKeyPair();
  const empty = new Uint8Array(0);
  const { enc, ctx } = setupBaseS(r.publicKey, empty);
  const rc = setupBaseR(enc, r.secretKey, empty);
  const anyS = ctx as unknown as { open: (a: Uint8Array, b: Uint8Array) => Uint8Array };
  const anyR = rc as unknown as { seal: (a: Uint8Array, b: Uint8Array) => Uint8Array };
  t.throws(() => anyS.open(empty, new Uint8Array(16)), { code: 'BAD_REQUEST', message: 'HPKE sender context cannot open' });
  t.throws(() => anyR.seal(empty, empty), { code: 'BAD_REQUEST', message: 'HPKE recipient context cannot seal' });
});

t.test('low-order recipient public key is refused when sealing', async (t) => {
  const zero = new Uint8Array(32);
  const one = new Uint8Array(32);
  one[0] = 1;
  for (const pk of [zero, one]) {
    t.throws(() => sealBase(pk, new Uint8Array(0), new Uint8Array(0), new Uint8Array(1)), {
      code: 'BAD_REQUEST',
      message: 'recipient public key is not a usable X25519 key',
    });
  }
});

t.test('wrong-type and wrong-size inputs are HushwireError BAD_REQUEST', async (t) => {
  const r = generateKeyPair();
  const b = new Uint8Array(0);
  const k = r.publicKey;
  const sk = r.secretKey;
  const { enc, ctx } = setupBaseS(k, b);
  const rc = setupBaseR(enc, sk, b);
  type F = (...a: unknown[]) => unknown;
  const bad: [string, () => unknown][] = [
    ['deriveKeyPair string', () => (deriveKeyPair as F)('ikm')],
    ['deriveKeyPair short', () => deriveKeyPair(new Uint8Array(31))],
    ['deriveKeyPair array', () => (deriveKeyPair as F)(new Array(32).fill(0))],
    ['setupBaseS pk short', () => setupBaseS(new Uint8Array(31), b)],
    ['setupBaseS pk string', () => (setupBaseS as F)('x'.repeat(32), b)],
    ['setupBaseS info string', () => (setupBaseS as F)(k, 'info')],
    ['setupBaseS bad aead', () => (setupBaseS as F)(k, b, { aead: 2 })],
    ['setupBaseS opts string', () => (setupBaseS as F)(k, b, 'chacha')],
    ['setupBaseS ikmE string', () => (setupBaseS as F)(k, b, { ikmE: 'seed' })],
    ['setupBaseS ikmE short', () => setupBaseS(k, b, { ikmE: new Uint8Array(16) })],
    ['setupBaseR enc short', () => setupBaseR(new Uint8Array(33), sk, b)],
    ['setupBaseR sk short', () => setupBaseR(enc, new Uint8Array(16), b)],
    ['setupBaseR info null', () => (setupBaseR as F)(enc, sk, null)],
    ['setupBaseR bad aead', () => (setupBaseR as F)(enc, sk, b, { aead: '3' })],
    ['sealBase aad string', () => (sealBase as F)(k, b, 'aad', b)],
    ['sealBase pt string', () => (sealBase as F)(k, b, b, 'hello')],
    ['sealBase pk undefined', () => (sealBase as F)(undefined, b, b, b)],
    ['openBase sk string', () => (openBase as F)('sk', enc, b, b, new Uint8Array(16))],
    ['openBase ct string', () => (openBase as F)(sk, enc, b, b, 'ciphertext')],
    ['openBase enc short', () => openBase(sk, new Uint8Array(0), b, b, new Uint8Array(16))],
    ['seal aad number', () => (ctx.seal as F).call(ctx, 1, b)],
    ['seal pt object', () => (ctx.seal as F).call(ctx, b, {})],
    ['open ct array', () => (rc.open as F).call(rc, b, [1, 2, 3])],
    ['export context string', () => (ctx.export as F).call(ctx, 'ctx', 32)],
    ['export L 0', () => ctx.export(b, 0)],
    ['export L too big', () => ctx.export(b, 255 * 32 + 1)],
    ['export L fraction', () => ctx.export(b, 1.5)],
    ['export L string', () => (rc.export as F).call(rc, b, '32')],
  ];
  for (const [name, fn] of bad) t.throws(fn, BAD_REQUEST, name);
  t.equal(ctx.export(b, 255 * 32).length, 255 * 32, 'largest export works');
  t.equal(ctx.seq, 0, 'failed calls did not advance the sender');
});

t.test('error messages carry no key material', async (t) => {
  const r = generateKeyPair();
  try {
    openBase(r.secretKey, r.publicKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(32));
    t.fail('should throw');
  } catch (e) {
    const msg = (e as Error).message;
    t.equal(msg, 'cannot open envelope');
    t.notMatch(msg, hex(r.secretKey));
  }
});
