// relay/frame-in.ts against the generated decoder: on random frames (send, deliver_ack,
// other ops, unknown fields, repeated and misplaced fields) and on mutated bytes, both
// decoders must agree: the same ops with the same meaning, or both refuse the bytes.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { protobuf } from '../../relay/protobuf.ts';
import { wire, type Op } from '../../relay/wire.ts';
import { decodeInbound, type InEnvelope, type InOp } from '../../relay/frame-in.ts';
import { agreeOnMutations, mutate, outcome, randomFrameOf, writeUnknownFields, type Outcome } from '../helpers/decoder-agreement.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString('hex');
const pick = <T>(xs: readonly T[]): T => xs[randomInt(0, xs.length)] as T;

/** What the relay reads of an op, whichever decoder made it. */
type Meaning =
  | { req: number; send: string[] }
  | { req: number; ack: string[] }
  | { req: number; other: unknown };

function envelopeMeaning(e: { version?: number | null; route?: Uint8Array | null; device?: Uint8Array | null; id?: Uint8Array | null; suite?: number | null; enc?: Uint8Array | null; ciphertext?: Uint8Array | null }): string {
  return [e.version ?? 0, hex(e.route), hex(e.device), hex(e.id), e.suite ?? 0, hex(e.enc), hex(e.ciphertext)].join('/');
}

function opMeaning(op: Op): Meaning {
  const req = (op.req ?? 0) >>> 0;
  if (op.body === 'send') return { req, send: (op.send?.envelopes ?? []).map(envelopeMeaning) };
  if (op.body === 'deliverAck') return { req, ack: (op.deliverAck?.ids ?? []).map(hex) };
  return { req, other: JSON.parse(JSON.stringify(op, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : typeof v === 'object' && v !== null && 'low' in v && 'high' in v ? String(v) : v))) as unknown };
}

/** The fields of an envelope read as offsets, copied out (what the generated decoder gives). */
function envelopeProps(e: InEnvelope) {
  const d = e.data;
  return {
    version: e.version, suite: e.suite,
    route: d.slice(e.routeStart, e.routeEnd), device: d.slice(e.deviceStart, e.deviceEnd), id: d.slice(e.idStart, e.idEnd),
    enc: d.slice(e.encStart, e.encEnd), ciphertext: d.slice(e.ctStart, e.ctEnd),
  };
}

function inMeaning(op: InOp): Meaning {
  if (op.kind === 'send') return { req: op.req, send: op.envelopes.map((e) => envelopeMeaning(envelopeProps(e))) };
  if (op.kind === 'ack') {
    const ids: string[] = [];
    for (let i = 0; i < op.ids.length; i += 2) ids.push(hex(op.data.subarray(op.ids[i], op.ids[i + 1])));
    return { req: op.req, ack: ids };
  }
  if (op.kind === 'excess') throw new Error('no op past maxOps without one');
  const m = opMeaning(op.op);
  t.equal(m.req, op.req, 'req of a handed-over op');
  return m;
}

function generated(data: Uint8Array): Outcome<Meaning[]> {
  return outcome(() => wire.Frame.decode(data).ops.map((o) => opMeaning(o as Op)));
}

function mine(data: Uint8Array): Outcome<Meaning[]> {
  const r = outcome(() => decodeInbound(data));
  return r.ok ? { ok: true, value: r.value.map(inMeaning) } : r;
}

function randomEnvelope(): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (randomInt(0, 5) > 0) e['version'] = pick([0, 1, 2, 2 ** 32 - 1]);
  if (randomInt(0, 5) > 0) e['route'] = rnd(pick([0, 32, 31]));
  if (randomInt(0, 5) > 0) e['device'] = rnd(pick([0, 16]));
  if (randomInt(0, 5) > 0) e['id'] = rnd(pick([0, 16, 200]));
  if (randomInt(0, 5) > 0) e['suite'] = pick([0, 1, 7]);
  if (randomInt(0, 5) > 0) e['enc'] = rnd(pick([0, 32]));
  if (randomInt(0, 5) > 0) e['ciphertext'] = rnd(pick([0, 16, 272, 1000]));
  if (randomInt(0, 3) === 0) e['serverTs'] = pick([1, Date.now(), Number.MAX_SAFE_INTEGER]);
  return e;
}

/** One op's bytes: mostly well-formed, sometimes with extra fields the fast path must not take. */
function randomOpBytes(): Uint8Array {
  const req = pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1]);
  const w = protobuf.Writer.create();
  const kind = randomInt(0, 10);
  if (kind < 4) {
    wire.Op.encode({ req, send: { envelopes: Array.from({ length: randomInt(0, 4) }, randomEnvelope) } }, w);
  } else if (kind < 7) {
    wire.Op.encode({ req, deliverAck: { ids: Array.from({ length: randomInt(0, 5) }, () => rnd(pick([16, 0, 3]))) } }, w);
  } else if (kind === 7) {
    wire.Op.encode(pick([{ req, lookup: { route: rnd(32) } }, { req, unregister: {} }, { req, auth: { route: rnd(32), device: rnd(16), signature: rnd(64) } }, { req }]), w);
  } else if (kind === 8) {
    // two bodies, or a body twice: the oneof and merge rules are the generated decoder's
    wire.Op.encode({ req, send: { envelopes: [randomEnvelope()] } }, w);
    if (randomInt(0, 2) === 0) wire.Op.encode({ deliverAck: { ids: [rnd(16)] } }, w);
    else wire.Op.encode({ send: { envelopes: [randomEnvelope()] } }, w);
  } else {
    // unknown fields around a send: varint, fixed64, fixed32, bytes, an empty group
    wire.Op.encode({ req, send: { envelopes: [randomEnvelope()] } }, w);
    writeUnknownFields(w);
  }
  return w.finish();
}

const randomFrame = (): Buffer => randomFrameOf(randomOpBytes);

t.test('well-formed frames: the same ops as the generated decoder', async (t) => {
  let fast = 0;
  for (let i = 0; i < 2000; i++) {
    const f = randomFrame();
    const a = generated(f);
    const b = mine(f);
    t.ok(a.ok, 'generated decodes it');
    if (!a.ok || !b.ok) {
      t.fail(`refused by the fast decoder: ${hex(f)}`);
      return;
    }
    if (JSON.stringify(a.value) !== JSON.stringify(b.value)) {
      t.same(b.value, a.value, `frame ${hex(f)}`);
      return;
    }
    fast += decodeInbound(f).filter((o) => o.kind !== 'other').length;
  }
  t.ok(fast > 1000, `most send/deliver_ack ops took the fast path (${fast})`);
});

t.test('mutated bytes: both decoders refuse, or both read the same ops', async (t) => {
  const refused = agreeOnMutations(t, 20_000, randomFrame, generated, mine);
  t.ok(refused > 1000, `many mutations were refused by both (${refused})`);
});

t.test('hostile shapes', async (t) => {
  const cases: [string, Uint8Array][] = [
    ['empty frame', new Uint8Array(0)],
    ['field number 0', Uint8Array.of(0x02, 0x00)],
    ['wire type 7', Uint8Array.of(0x0f)],
    ['length past the end', Uint8Array.of(0x0a, 0x05, 0x08)],
    ['11-byte varint req', Uint8Array.of(0x0a, 0x0c, 0x08, ...new Array(10).fill(0xff), 0x01)],
    ['unterminated group', Uint8Array.of(0x0a, 0x02, (9 << 3) | 3, 0x08)],
    ['end group of another field', Uint8Array.of(0x0a, 0x02, (9 << 3) | 3, (10 << 3) | 4)],
    ['deep groups', Uint8Array.from([0x0a, 0x7f, ...new Array(127).fill((9 << 3) | 3)])],
    ['long skipped varint', Uint8Array.of(0x0a, 0x0e, (99 << 3) | 0, ...new Array(12).fill(0xff), 0x01)],
  ];
  for (const [name, f] of cases) {
    const a = generated(f);
    const b = mine(f);
    t.equal(b.ok, a.ok, `${name}: ${a.ok ? 'accepted' : 'refused'} by both`);
    if (a.ok && b.ok) t.same(b.value, a.value, name);
  }
  t.same(decodeInbound(new Uint8Array(0)), [], 'an empty frame has no ops (the session answers BAD_FRAME)');
});

t.test('ops past maxOps: only their req, and past maxOps + maxExcess left out', async (t) => {
  let limited = 0;
  for (let i = 0; i < 20_000; i++) {
    const f = i % 2 === 0 ? randomFrame() : mutate(randomFrame());
    const full = mine(f);
    const maxOps = randomInt(0, 3);
    const maxExcess = randomInt(0, 3);
    const r = outcome(() => decodeInbound(f, maxOps, maxExcess));
    if (!r.ok) {
      // Refused with the limit: refused whole too (a limit only ever skips checks).
      if (full.ok) { t.fail(`refused only with maxOps ${maxOps}: ${hex(f)}`); return; }
      continue;
    }
    if (!full.ok) continue; // a malformed body inside an op past maxOps is not looked at
    const ops = r.value;
    const want = full.value;
    const same = ops.length === Math.min(want.length, maxOps + maxExcess)
      && ops.every((o, k) => (k < maxOps
        ? JSON.stringify(inMeaning(o)) === JSON.stringify(want[k])
        : o.kind === 'excess' && o.req === want[k]!.req));
    if (!same) { t.fail(`maxOps ${maxOps} maxExcess ${maxExcess}: ${hex(f)}`); return; }
    if (want.length > maxOps) limited++;
  }
  t.ok(limited > 1000, `many frames had ops past the limit (${limited})`);
  // A malformed message inside an op past the limit: the whole frame is refused without
  // a limit, read with one (that op is refused by the session unseen).
  const ping = [0x0a, 0x05, 0x08, 0x01, 0xe2, 0x01, 0x00];
  const badLookup = [0x0a, 0x07, 0x08, 0x02, 0xc2, 0x01, 0x02, 0x0a, 0x05]; // Lookup.route of 5 bytes in 0
  const f = Uint8Array.from([...ping, ...badLookup]);
  t.notOk(mine(f).ok, 'refused whole without a limit');
  t.same(decodeInbound(f, 1).map((o) => [o.kind, o.req]), [['other', 1], ['excess', 2]], 'read with maxOps 1');
});
