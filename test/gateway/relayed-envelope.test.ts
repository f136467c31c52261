// relay/relayed-envelope.ts against the generated protobuf code: encodeRelayed must
// produce exactly what wire.Envelope.encode produces for the same fields, and envelopeId
// must find what wire.Envelope.decode finds, on random envelopes and on hostile bytes.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { wire } from '../../relay/wire.ts';
import { encodeRelayed, encodeRelayedIn, envelopeIdEnd, envelopeIdStart, relayedIdStart } from '../../relay/relayed-envelope.ts';

/** The id envelopeIdStart/envelopeIdEnd locate, as a view (null where there is none). */
function envelopeId(b: Uint8Array): Uint8Array | null {
  const s = envelopeIdStart(b);
  return s < 0 ? null : b.subarray(s, envelopeIdEnd());
}

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function fields() {
  return {
    version: randomInt(0, 3) === 0 ? 0 : randomInt(1, 2 ** 31),
    id: rnd([0, 16, 1, 200][randomInt(0, 4)] as number),
    suite: randomInt(0, 3) === 0 ? 0 : randomInt(1, 300),
    enc: rnd([0, 32, 127, 128][randomInt(0, 4)] as number),
    ciphertext: rnd([0, 16, 272, 20_000][randomInt(0, 4)] as number),
    serverTs: [0, 1, 127, 128, Date.now(), Number.MAX_SAFE_INTEGER][randomInt(0, 6)] as number,
  };
}

t.test('encodeRelayed = the generated encoder, byte for byte', async (t) => {
  for (let i = 0; i < 500; i++) {
    const f = fields();
    const mine = encodeRelayed(f);
    const theirs = wire.Envelope.encode(f).finish();
    if (!Buffer.from(mine).equals(Buffer.from(theirs))) {
      t.fail(`differs for ${JSON.stringify({ ...f, id: f.id.length, enc: f.enc.length, ciphertext: f.ciphertext.length })}`);
      return;
    }
    const back = wire.Envelope.decode(mine);
    t.equal(Number(back.serverTs), f.serverTs);
  }
  t.pass('500 random envelopes');
});

t.test('encodeRelayed leaves out route and device', async (t) => {
  const f = { version: 1, id: rnd(16), suite: 1, enc: rnd(32), ciphertext: rnd(272), serverTs: Date.now() };
  const d = wire.Envelope.decode(encodeRelayed(f));
  t.equal(d.route.length, 0);
  t.equal(d.device.length, 0);
  t.same(Buffer.from(d.id), Buffer.from(f.id));
});

t.test('envelopeId finds the id the generated decoder finds', async (t) => {
  for (let i = 0; i < 500; i++) {
    const f = fields();
    // full client envelopes too (route and device present, fields in any order)
    const full = wire.Envelope.encode({ ...f, route: rnd(32), device: rnd(16) }).finish();
    for (const b of [encodeRelayed(f), full]) {
      const id = envelopeId(b);
      if (f.id.length === 0) t.equal(id, null);
      else if (id === null || !Buffer.from(id).equals(Buffer.from(f.id))) {
        t.fail('id differs');
        return;
      }
    }
  }
  // reversed field order and a repeated id: the last one wins, as in protobuf
  const a = rnd(16);
  const b2 = rnd(16);
  const w = wire.Envelope.encode({ id: a }).finish();
  const x = wire.Envelope.encode({ ciphertext: rnd(40), id: b2 }).finish();
  const both = Buffer.concat([w, x]);
  t.same(Buffer.from(envelopeId(both)!), Buffer.from(wire.Envelope.decode(both).id));
  t.same(Buffer.from(envelopeId(both)!), Buffer.from(b2));
});

t.test('envelopeId on bytes that are not an envelope: null, never a throw or an out-of-range view', async (t) => {
  const good = encodeRelayed({ version: 1, id: rnd(16), suite: 1, enc: rnd(32), ciphertext: rnd(64), serverTs: Date.now() });
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(0x22),                       // id tag, no length
    Uint8Array.of(0x22, 0x10, 1, 2, 3),        // id longer than what is left
    Uint8Array.of(0x0b),                       // group start (wire type 3)
    Uint8Array.of(0x0f),                       // invalid wire type 7
    Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // endless varint
    Uint8Array.of(0x09, 1, 2, 3),              // fixed64 cut short
    Uint8Array.of(0x0d, 1),                    // fixed32 cut short
    good.subarray(0, good.length - 10),        // truncated ciphertext
  ];
  for (const c of cases) t.equal(envelopeId(c), null, `case ${Buffer.from(c).toString('hex').slice(0, 24)}`);
  for (let i = 0; i < 2000; i++) {
    const junk = rnd(randomInt(0, 80));
    let r: Uint8Array | null = null;
    t.doesNotThrow(() => { r = envelopeId(junk); });
    if (r !== null) {
      const v = r as Uint8Array;
      t.ok(v.byteOffset + v.length <= junk.byteOffset + junk.length, 'view inside the input');
    }
  }
});

t.test('pooled memory: every byte written; slices of the result are copies', async (t) => {
  // The buffer comes from Buffer.allocUnsafe's slabs, which are not cleared: dirty the
  // pool between encodes so that a byte left unwritten would show.
  let mismatches = 0;
  for (let i = 0; i < 500; i++) {
    Buffer.allocUnsafe(1 + (i % 1500)).fill(0xee);
    const f = { version: 1, id: new Uint8Array(randomBytes(16)), suite: 1, enc: new Uint8Array(randomBytes(32)), ciphertext: new Uint8Array(randomBytes(1 + (i * 37) % 3000)), serverTs: Date.now() };
    const ours = encodeRelayed(f);
    const generated = wire.Envelope.encode(f).finish();
    if (!Buffer.from(ours).equals(Buffer.from(generated))) mismatches++;
  }
  t.equal(mismatches, 0, '500 envelopes byte-identical to the generated encoder');
  const e = encodeRelayed({ version: 1, id: new Uint8Array(16), suite: 1, enc: new Uint8Array(32), ciphertext: new Uint8Array(100), serverTs: 1 });
  t.equal(Object.getPrototypeOf(e), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
  const copy = e.slice();
  copy[0] = (copy[0]! + 1) & 0xff;
  t.not(copy[0], e[0], '.slice() copies (a stored copy must not pin the shared slab)');
  t.equal(copy.buffer.byteLength, copy.byteLength, 'the copy owns exactly its bytes');
});

t.test('encodeRelayedIn (fields read from a frame as offsets) = encodeRelayed, and relayedIdStart finds the id', async (t) => {
  let checked = 0;
  for (let i = 0; i < 1000; i++) {
    const f = fields();
    // the sender's envelope inside a frame, with route and device, and bytes around it
    const full = wire.Envelope.encode({ ...f, route: rnd(32), device: rnd(16), serverTs: 0 }).finish();
    const pad = randomInt(0, 9);
    const frame = new Uint8Array(pad + full.length + 3);
    frame.set(full, pad);
    const d = full;
    // offsets of each field in `frame`, as relay/frame-in.ts records them
    const at = (b: Uint8Array): [number, number] => {
      if (b.length === 0) return [0, 0];
      const i = Buffer.from(d).indexOf(Buffer.from(b));
      return [pad + i, pad + i + b.length];
    };
    const [idStart, idEnd] = at(f.id);
    const [encStart, encEnd] = at(f.enc);
    const [ctStart, ctEnd] = at(f.ciphertext);
    const e = {
      data: frame, version: f.version, suite: f.suite, routeStart: 0, routeEnd: 0, deviceStart: 0, deviceEnd: 0,
      idStart, idEnd, encStart, encEnd, ctStart, ctEnd,
    };
    const mine = encodeRelayedIn(e, f.serverTs);
    const theirs = encodeRelayed(f);
    if (!Buffer.from(mine).equals(Buffer.from(theirs))) {
      t.fail(`differs for ${JSON.stringify({ ...f, id: f.id.length, enc: f.enc.length, ciphertext: f.ciphertext.length })}`);
      return;
    }
    if (f.id.length > 0) {
      const s = relayedIdStart(f.version, f.id.length);
      if (!Buffer.from(mine.subarray(s, s + f.id.length)).equals(Buffer.from(f.id)) || s !== envelopeIdStart(mine)) {
        t.fail(`id not at ${s} for version ${f.version}, id length ${f.id.length}`);
        return;
      }
      checked++;
    }
  }
  t.ok(checked > 500, `ids checked: ${checked}`);
});

t.test('envelopeIdStart / envelopeIdEnd bound the id the generated decoder reads; -1 where there is none', async (t) => {
  for (let i = 0; i < 300; i++) {
    const f = fields();
    const b = encodeRelayed(f);
    const s = envelopeIdStart(b);
    if (f.id.length === 0) t.equal(s, -1);
    else t.same(Buffer.from(b.subarray(s, envelopeIdEnd())), Buffer.from(wire.Envelope.decode(b).id));
  }
  t.equal(envelopeIdStart(Uint8Array.of(0x22, 0x05, 0x01)), -1, 'an id running past the end');
});
