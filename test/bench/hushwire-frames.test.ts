// The bench handset's hand-written frames (bench/drivers/hushwire-frames.ts) against the
// generated code: what it writes decodes to the intended ops; what it reads from a server
// frame (delivered ids, send results, errors) is what the generated decoder's ops say, on
// random frames, on the gateway's own encoders' output, and on mutated bytes (both refuse,
// or both read the same).
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { protobuf } from '../../relay/protobuf.ts';
import { wire, type Op } from '../../relay/wire.ts';
import { encodeFrameOut, encodeSendResultOp } from '../../relay/frame-out.ts';
import { agreeOnMutations, outcome, randomFrameOf, writeUnknownFields, type Outcome } from '../helpers/decoder-agreement.ts';
import protobufjs from 'protobufjs';
import { clientFrameSize, fromOp, MAX_OPS_PER_FRAME, OP_BODY_FIELDS, readServerFrame, splitClientFrames, writeClientFrame, type OutSend, type Sealed, type ServerFrameSink } from '../../bench/drivers/hushwire-frames.ts';

const rnd = (n: number): Buffer => randomBytes(n);
const hex = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString('hex');
const pick = <T>(xs: readonly T[]): T => xs[randomInt(0, xs.length)] as T;
const RUN_TAG = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

const PLACEHOLDER = Buffer.alloc(16, 0xab);

/** A real Envelope encoding (ciphertext of `len` bytes) and where its id sits. */
function sealed(len: number): Sealed {
  const bytes = wire.Envelope.encode({ version: 1, route: rnd(32), device: rnd(16), id: PLACEHOLDER, suite: 1, enc: rnd(32), ciphertext: rnd(len) }).finish();
  return { bytes, idOffset: Buffer.from(bytes).indexOf(PLACEHOLDER) };
}

t.test('writeClientFrame: exactly clientFrameSize bytes that decode to the sends (ids stamped) and one deliver_ack', async (t) => {
  for (let i = 0; i < 500; i++) {
    const sends: OutSend[] = Array.from({ length: randomInt(0, 5) }, () => ({
      req: pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1]),
      sender: randomInt(0, 2 ** 21),
      seq: pick([0, 1, randomInt(0, 2 ** 32 - 1), 2 ** 32 - 1]),
      envelopes: Array.from({ length: randomInt(1, 4) }, () => sealed(pick([0, 16, 60, 272, 16_400]))),
    }));
    const acks = Array.from({ length: randomInt(0, 4) }, () => rnd(16));
    const size = clientFrameSize(sends, acks);
    const out = Buffer.alloc(size + 7, 0xee);
    const end = writeClientFrame(out, 3, sends, acks, RUN_TAG);
    t.equal(end, 3 + size, 'ends where the size says');
    if (out[0] !== 0xee || out[end] !== 0xee) t.fail('wrote outside its extent');
    const ops = wire.Frame.decode(out.subarray(3, end)).ops as Op[];
    t.equal(ops.length, sends.length + (acks.length > 0 ? 1 : 0), 'one op per send, plus the acks');
    sends.forEach((s, k) => {
      const op = ops[k]!;
      t.equal(op.req ?? 0, s.req, 'req');
      t.equal(op.body, 'send', 'a send');
      const envs = op.send!.envelopes!;
      t.equal(envs.length, s.envelopes.length, 'every envelope');
      envs.forEach((e, j) => {
        // what went out is the envelope's bytes with the id written at its offset
        const want = Buffer.from(s.envelopes[j]!.bytes);
        const o = s.envelopes[j]!.idOffset;
        want.writeUInt32BE(s.sender, o);
        want.writeUInt32BE(s.seq >>> 0, o + 4);
        want.set(RUN_TAG, o + 8);
        t.equal(hex(wire.Envelope.encode(e).finish()), want.toString('hex'), 'the envelope, its id stamped');
        t.equal(hex(e.id).slice(16), hex(RUN_TAG), 'the run tag in the id');
      });
    });
    if (acks.length > 0) {
      const op = ops[sends.length]!;
      t.equal(op.req ?? 0, 0, 'acks go with req 0');
      t.same((op.deliverAck!.ids ?? []).map(hex), acks.map(hex), 'the ids, in order');
    }
  }
  t.equal(clientFrameSize([], []), 0, 'nothing to send: an empty frame');
});

type Heard = (string | number | boolean)[];

function recorder(into: Heard[]): ServerFrameSink {
  return {
    delivered: (id) => { into.push(['delivered', hex(id)]); },
    sendResult: (req, ok, code) => { into.push(['sendResult', req, ok, code]); },
    error: (req, code) => { into.push(['error', req, code]); },
  };
}

/** The reference: the generated decoder, then fromOp per op. */
function generated(f: Buffer): Outcome<Heard[]> {
  return outcome(() => {
    const heard: Heard[] = [];
    for (const op of wire.Frame.decode(f).ops as Op[]) fromOp(op, recorder(heard));
    return heard;
  });
}

function mine(f: Buffer): Outcome<Heard[]> {
  return outcome(() => {
    const heard: Heard[] = [];
    readServerFrame(f, recorder(heard));
    return heard;
  });
}

function randomEnvelope(): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (randomInt(0, 5) > 0) e['version'] = pick([0, 1, 2 ** 32 - 1]);
  if (randomInt(0, 5) > 0) e['route'] = rnd(32);
  if (randomInt(0, 5) > 0) e['id'] = rnd(pick([0, 16, 200]));
  if (randomInt(0, 5) > 0) e['ciphertext'] = rnd(pick([0, 272, 1000]));
  if (randomInt(0, 3) === 0) e['serverTs'] = pick([1, Date.now(), Number.MAX_SAFE_INTEGER]);
  return e;
}

const STATUSES = ['delivered', 'stored', 'failed', '', 'deliverd', 'storedx'];

function randomOpBytes(): Uint8Array {
  const req = pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1]);
  const w = protobuf.Writer.create();
  const kind = randomInt(0, 10);
  if (kind < 3) {
    wire.Op.encode({ req, deliver: { envelopes: Array.from({ length: randomInt(0, 4) }, randomEnvelope) } }, w);
  } else if (kind < 6) {
    wire.Op.encode({ req, sendResult: { receipts: Array.from({ length: randomInt(0, 4) }, () => ({
      id: rnd(16), status: pick(STATUSES), code: pick(['', 'RATE_LIMITED', 'MAILBOX_FULL']), retryAfterMs: pick([0, 5, 2 ** 32 - 1]),
    })) } }, w);
  } else if (kind === 6) {
    wire.Op.encode({ req, error: pick([{}, { code: 'BAD_FRAME' }, { code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 100 }]) }, w);
  } else if (kind === 7) {
    // Ops a bench handset does not read, with bodies a mutation can break: the reader must
    // know each is one of the oneof's (OP_BODY_FIELDS), or it skips a body the generated
    // decoder refuses. Ticket, ping and the client ops reach past field 13 and 27.
    wire.Op.encode(pick([
      { req, ok: {} }, { req, notice: { kind: 'moved', atMs: 5 } }, { req, reconnect: { retryAfterMs: 3, reason: 'draining' } }, { req },
      { req, ticket: { ticket: rnd(69), expiresInS: 86_400 } }, { req, ping: {} }, { req, ticketRequest: { publicKey: rnd(32) } },
      { req, evaluated: { evaluated: [rnd(32), rnd(32)] } }, { req, devices: { route: rnd(32), padding: rnd(5) } },
    ]), w);
  } else if (kind === 8) {
    // two bodies, or one body twice: the generated decoder's oneof and merge rules
    wire.Op.encode({ req, deliver: { envelopes: [randomEnvelope()] } }, w);
    wire.Op.encode(pick([
      { deliver: { envelopes: [randomEnvelope()] } },
      { sendResult: { receipts: [{ status: pick(STATUSES) }] } },
      { error: { code: 'X' } },
      { ok: {} },
    ]), w);
  } else {
    // unknown fields around a deliver: varint, fixed64, fixed32, bytes, an empty group
    wire.Op.encode({ req, deliver: { envelopes: [randomEnvelope()] } }, w);
    writeUnknownFields(w);
  }
  return w.finish();
}

const randomFrame = (): Buffer => randomFrameOf(randomOpBytes);

t.test('splitClientFrames: a turn behind its schedule goes out in frames the gateway accepts, nothing lost or reordered', async (t) => {
  const send = (req: number, envelopes: number, len: number): OutSend => ({ req, sender: 7, seq: req, envelopes: Array.from({ length: envelopes }, () => sealed(len)) });
  for (let i = 0; i < 200; i++) {
    const maxBytes = pick([1024, 4096, 65_536, 262_144]);
    const sends = Array.from({ length: pick([0, 1, 127, 128, 129, 300, 1000]) }, (_, k) => send(k + 1, randomInt(1, 4), pick([16, 272, 600])));
    const acks = Array.from({ length: pick([0, 1, 50, 5000, 20_000]) }, () => rnd(16));
    if (sends.length === 0 && acks.length === 0) continue;
    const parts = splitClientFrames(sends, acks, maxBytes);
    let ops = 0;
    const reqs: number[] = [];
    let ackCount = 0;
    for (const p of parts) {
      const size = clientFrameSize(p.sends, p.acks);
      const frame = Buffer.alloc(size);
      writeClientFrame(frame, 0, p.sends, p.acks, RUN_TAG);
      const decoded = wire.Frame.decode(frame).ops as Op[];
      const bigSend = p.sends.length === 1 && p.acks.length === 0;
      if (size > maxBytes && !bigSend) t.fail(`a frame of ${size} bytes over the limit of ${maxBytes}`);
      if (decoded.length > MAX_OPS_PER_FRAME) t.fail(`a frame of ${decoded.length} ops`);
      if (decoded.length === 0) t.fail('an empty frame');
      ops += decoded.length;
      for (const op of decoded) {
        if (op.body === 'send') reqs.push(op.req);
        else ackCount += op.deliverAck!.ids!.length;
      }
    }
    if (reqs.join() !== sends.map((s) => s.req).join()) t.fail('every send, once, in order');
    if (ackCount !== acks.length) t.fail(`${ackCount} of ${acks.length} acks`);
    if (sends.length < MAX_OPS_PER_FRAME && acks.length <= 50 && maxBytes === 262_144 && parts.length !== 1) t.fail('a turn that fits goes in one frame');
    t.ok(ops >= sends.length, 'ops counted');
  }
  t.same(splitClientFrames([send(1, 1, 16)], [], 1024).map((p) => p.sends.length), [1], 'one small send: one frame');
  t.equal(splitClientFrames(Array.from({ length: 300 }, (_, k) => send(k + 1, 1, 16)), [], 262_144).length, 3, '300 sends: 127 + 127 + 46');
  t.same(splitClientFrames([send(1, 1, 5000)], [], 1024).map((p) => p.sends.length), [1], 'a send over the limit alone still goes (the gateway refuses it: 1009)');
  t.throws(() => splitClientFrames([], [rnd(16)], 8), RangeError, 'a limit that holds no op is refused, not looped on');
});

t.test('well-formed server frames: the same ids, results and errors as the generated decoder', async (t) => {
  let heard = 0;
  for (let i = 0; i < 3000; i++) {
    const f = randomFrame();
    const a = generated(f);
    const b = mine(f);
    if (!a.ok || !b.ok) {
      t.fail(`refused: ${hex(f)} (generated ${a.ok}, hand-written ${b.ok})`);
      return;
    }
    if (JSON.stringify(a.value) !== JSON.stringify(b.value)) {
      t.same(b.value, a.value, `frame ${hex(f)}`);
      return;
    }
    heard += a.value.length;
  }
  t.ok(heard > 3000, `plenty was heard (${heard})`);
});

t.test("the gateway's own encoders: deliveries and receipts read back as sent", async (t) => {
  const ids = [rnd(16), rnd(16), rnd(16)];
  const envs = ids.map((id) => wire.Envelope.encode({ version: 1, route: rnd(32), device: rnd(16), id, suite: 1, enc: rnd(32), ciphertext: rnd(272), serverTs: Date.now() }).finish());
  const result = encodeSendResultOp(77, [
    { id: ids[0]!, status: 'delivered', code: '', retryAfterMs: 0 },
    { id: ids[1]!, status: 'failed', code: 'MAILBOX_FULL', retryAfterMs: 1000 },
    { id: ids[2]!, status: 'stored', code: '', retryAfterMs: 0 },
  ]);
  const frame = Buffer.from(encodeFrameOut([result, { req: 9, error: { code: 'RATE_LIMITED', message: 'slow down' } }], envs));
  const a = generated(frame);
  const b = mine(frame);
  t.ok(a.ok && b.ok, 'both read it');
  t.same(b, a, 'the same as the generated decoder');
  if (b.ok) {
    t.same(b.value.filter((h) => h[0] === 'delivered').map((h) => h[1]), ids.map(hex), 'every delivered id, in order');
    t.same(b.value.find((h) => h[0] === 'sendResult'), ['sendResult', 77, false, 'MAILBOX_FULL'], 'the failed receipt decides');
    t.same(b.value.find((h) => h[0] === 'error'), ['error', 9, 'RATE_LIMITED'], 'the error and its code');
  }
  const allGood = Buffer.from(encodeFrameOut([encodeSendResultOp(5, [{ id: ids[0]!, status: 'stored', code: '', retryAfterMs: 0 }, { id: ids[1]!, status: 'delivered', code: '', retryAfterMs: 0 }])], []));
  t.same(mine(allGood), { ok: true, value: [['sendResult', 5, true, '']] }, 'stored and delivered are both ok');
});

t.test('mutated server frames: both refuse, or both read the same', async (t) => {
  const refused = agreeOnMutations(t, 20_000, randomFrame, generated, mine);
  t.ok(refused > 1000, `many mutations were refused by both (${refused})`);
});

t.test('unknown groups nested near the depth limit, in every message the reader walks: both refuse, or both read the same', async (t) => {
  // k groups opened (field 15) and closed again, as an unknown field of the message.
  const groups = (w: protobuf.Writer, k: number): protobuf.Writer => {
    for (let i = 0; i < k; i++) w.uint32((15 << 3) | 3);
    for (let i = 0; i < k; i++) w.uint32((15 << 3) | 4);
    return w;
  };
  const frame = (fill: (w: protobuf.Writer) => void): Buffer => {
    const w = protobuf.Writer.create();
    w.uint32(10).fork();
    fill(w);
    w.ldelim();
    return Buffer.from(w.finish());
  };
  const places: [string, (k: number) => Buffer][] = [
    ['op', (k) => frame((w) => groups(w.uint32(8).uint32(1), k))],
    ['deliver', (k) => frame((w) => { w.uint32((9 << 3) | 2).fork(); groups(w, k); w.ldelim(); })],
    ['envelope', (k) => frame((w) => { w.uint32((9 << 3) | 2).fork().uint32(10).fork(); w.uint32(34).bytes(rnd(16)); groups(w, k); w.ldelim(); w.ldelim(); })],
    ['send_result', (k) => frame((w) => { w.uint32(8).uint32(3).uint32((8 << 3) | 2).fork(); groups(w, k); w.ldelim(); })],
    ['receipt', (k) => frame((w) => { w.uint32(8).uint32(3).uint32((8 << 3) | 2).fork().uint32(10).fork(); groups(w, k); w.ldelim(); w.ldelim(); })],
    ['error', (k) => frame((w) => { w.uint32((4 << 3) | 2).fork(); w.uint32(10).string('X'); groups(w, k); w.ldelim(); })],
  ];
  for (const [name, make] of places) {
    let refusedSome = false;
    let acceptedSome = false;
    for (let k = 94; k <= 104; k++) {
      const f = make(k);
      const a = generated(f);
      const b = mine(f);
      t.equal(b.ok, a.ok, `${name}, ${k} groups deep: ${a.ok ? 'accepted' : 'refused'} by both`);
      if (a.ok && b.ok) t.same(b.value, a.value, `${name}, ${k} groups deep`);
      if (a.ok) acceptedSome = true; else refusedSome = true;
    }
    t.ok(acceptedSome && refusedSome, `${name}: the limit lies within the depths tried`);
  }
});

t.test("OP_BODY_FIELDS is exactly Op's oneof body in proto/hushwire.proto", async (t) => {
  const schema = protobufjs.loadSync(new URL('../../proto/hushwire.proto', import.meta.url).pathname);
  const ids = schema.lookupType('hushwire.v1.Op').oneofs['body']!.fieldsArray.map((f) => f.id).sort((a, b) => a - b);
  t.same([...OP_BODY_FIELDS].sort((a, b) => a - b), ids);
});

t.test('hostile shapes', async (t) => {
  const cases: [string, Buffer][] = [
    ['empty frame', Buffer.alloc(0)],
    ['field number 0', Buffer.of(0x02, 0x00)],
    ['wire type 7', Buffer.of(0x0f)],
    ['length past the end', Buffer.of(0x0a, 0x05, 0x08)],
    ['11-byte varint req', Buffer.of(0x0a, 0x0c, 0x08, ...new Array(10).fill(0xff), 0x01)],
    ['unterminated group in a deliver', Buffer.of(0x0a, 0x04, (9 << 3) | 2, 0x02, (5 << 3) | 3, 0x08)],
    ['deliver with wire type 0', Buffer.of(0x0a, 0x02, (9 << 3) | 0, 0x05)],
    ['deep groups', Buffer.from([0x0a, 0x7f, ...new Array(127).fill((9 << 3) | 3)])],
    // Found by the mutation test: a ticket (field 14) whose body is a tag with no value. The
    // reader once knew the oneof only up to field 13 and skipped it as unknown.
    ['ticket body cut short', Buffer.of(0x0a, 0x08, 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x4a, 0x00, 0x0a, 0x03, 0x72, 0x01, 0x4a)],
    ...[28, 29, 30].map((f): [string, Buffer] => [`op field ${f} with a body cut short`, Buffer.of(0x0a, 0x06, (((f << 3) | 2) & 0x7f) | 0x80, ((f << 3) | 2) >>> 7, 0x03, 0x0a, 0x08, 0x01)]),
    ['11-byte server_ts', Buffer.of(0x0a, 0x10, (9 << 3) | 2, 0x0e, 0x0a, 0x0c, (8 << 3) | 0, ...new Array(10).fill(0xff), 0x01)],
  ];
  for (const [name, f] of cases) {
    const a = generated(f);
    const b = mine(f);
    t.equal(b.ok, a.ok, `${name}: ${a.ok ? 'accepted' : 'refused'} by both`);
    if (a.ok && b.ok) t.same(b.value, a.value, name);
  }
});
