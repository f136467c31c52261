// The bench handset's handshake by hand (bench/drivers/hushwire-frames.ts) against the
// generated code: what readHandshakeFrame makes of a frame before the connect is ready
// (the challenge, the answer to an auth or ticket request) is what the generated decoder
// says (handshakeOpsOf), on random frames, on the gateway's own challenge encoder's
// output, and on mutated bytes (both refuse, or both read the same); the auth frame it
// writes is wire.Frame.encode's bytes.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { protobuf } from '../../relay/protobuf.ts';
import { wire, type Op } from '../../relay/wire.ts';
import { encodeChallengeFrame, encodeChallengeTail, encodeFrameOut } from '../../relay/frame-out.ts';
import { agreeOnMutations, outcome, randomFrameOf, writeUnknownFields, type Outcome } from '../helpers/decoder-agreement.ts';
import { authFrameSize, handshakeOpsOf, readHandshakeFrame, writeAuthFrame, type AuthFields, type HandshakeOp } from '../../bench/drivers/hushwire-frames.ts';

const rnd = (n: number): Buffer => randomBytes(n);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pick = <T>(xs: readonly T[]): T => xs[randomInt(0, xs.length)] as T;

/** What a handset acts on, as JSON-comparable values (the generated op left out). */
function project(ops: readonly HandshakeOp[]): unknown[] {
  return ops.map((op) => ({
    req: op.req,
    challenge: op.challenge && { nonce: hex(op.challenge.nonce), maxFrameBytes: op.challenge.maxFrameBytes, resumeKey: hex(op.challenge.resumeKey) },
    ok: op.ok,
    error: op.error,
    ticket: op.ticket && { ticket: hex(op.ticket.ticket), expiresInS: op.ticket.expiresInS },
  }));
}

/** The reference: the generated decoder. */
const generated = (f: Buffer): Outcome<unknown[]> => outcome(() => project(handshakeOpsOf(wire.Frame.decode(f).ops as Op[])));

/** Frames read by hand, and by the generated decoder where the hand reader leaves them. */
let byHand = 0;
let leftToGenerated = 0;
function mine(f: Buffer): Outcome<unknown[]> {
  return outcome(() => {
    const ops = readHandshakeFrame(f);
    if (ops === null) {
      leftToGenerated++;
      return project(handshakeOpsOf(wire.Frame.decode(f).ops as Op[]));
    }
    byHand++;
    return project(ops);
  });
}

function randomChallenge(): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (randomInt(0, 6) > 0) c['nonce'] = rnd(pick([32, 32, 0, 1, 200]));
  if (randomInt(0, 3) > 0) c['serverTimeMs'] = pick([1, Date.now(), Number.MAX_SAFE_INTEGER]);
  if (randomInt(0, 3) > 0) c['oprfPublicKey'] = rnd(32);
  if (randomInt(0, 3) > 0) c['maxFrameBytes'] = pick([1, 1024, 262_144, 2 ** 32 - 1]);
  if (randomInt(0, 3) > 0) c['authDeadlineMs'] = pick([1, 10_000]);
  if (randomInt(0, 3) > 0) c['protocol'] = 1;
  if (randomInt(0, 4) === 0) c['oprfShareKeys'] = [rnd(32), rnd(32)];
  if (randomInt(0, 3) > 0) c['mailboxMaxAgeS'] = pick([1, 604_800, 2 ** 32 - 1]);
  if (randomInt(0, 4) > 0) c['resumeKey'] = rnd(pick([32, 32, 0, 5]));
  return c;
}

function randomOpBytes(): Uint8Array {
  const req = pick([0, 1, 2, 3, 127, 128, 2 ** 31, 2 ** 32 - 1]);
  const w = protobuf.Writer.create();
  const kind = randomInt(0, 12);
  if (kind < 4) {
    wire.Op.encode({ req, challenge: randomChallenge() }, w);
  } else if (kind < 6) {
    wire.Op.encode({ req, ok: {} }, w);
  } else if (kind === 6) {
    wire.Op.encode({ req, error: pick([{}, { code: 'RESUME_REFUSED' }, { code: 'BAD_AUTH', message: 'no', retryAfterMs: 5 }]) }, w);
  } else if (kind === 7) {
    wire.Op.encode({ req, ticket: pick([{}, { ticket: rnd(69), expiresInS: 86_400 }, { ticket: rnd(69) }, { expiresInS: 3 }]) }, w);
  } else if (kind === 8) {
    // unknown fields inside the body (every wire type), then after it
    const body = protobuf.Writer.create();
    wire.Challenge.encode(randomChallenge(), body);
    writeUnknownFields(body);
    w.uint32(8).uint32(req).uint32((2 << 3) | 2).bytes(body.finish());
    writeUnknownFields(w);
  } else if (kind === 9) {
    // a field twice: the last wins (an empty one deletes what came before)
    const body = protobuf.Writer.create();
    wire.Challenge.encode(randomChallenge(), body);
    wire.Challenge.encode(randomChallenge(), body);
    w.uint32(8).uint32(req).uint32((pick([2, 14]) << 3) | 2).bytes(body.finish());
  } else if (kind === 10) {
    // left to the generated decoder: mail with the ok, two bodies, no body
    wire.Op.encode(pick([{ req, deliver: { envelopes: [{ id: rnd(16) }] } }, { req, sendResult: { receipts: [{ status: 'stored' }] } }, { req }]), w);
  } else {
    // two bodies, or one body twice: the generated decoder's oneof and merge rules (a
    // second challenge merges into the first)
    const bodies = (): Record<string, unknown> => pick([{ challenge: randomChallenge() }, { error: { code: 'X' } }, { ok: {} }, { ticket: { ticket: rnd(69) } }, { ticket: { expiresInS: 5 } }]);
    wire.Op.encode({ req, ...bodies() }, w);
    wire.Op.encode(bodies(), w);
  }
  return w.finish();
}

const randomFrame = (): Buffer => randomFrameOf(randomOpBytes);

t.test('well-formed handshake frames: the same reading as the generated decoder', async (t) => {
  byHand = 0;
  leftToGenerated = 0;
  for (let i = 0; i < 3000; i++) {
    const f = randomFrame();
    const a = generated(f);
    const b = mine(f);
    if (!a.ok || !b.ok) {
      t.fail(`refused: ${hex(f)} (generated ${a.ok}, mine ${b.ok})`);
      return;
    }
    if (JSON.stringify(a.value) !== JSON.stringify(b.value)) {
      t.same(b.value, a.value, `frame ${hex(f)}`);
      return;
    }
  }
  t.ok(byHand > 1000, `most read by hand (${byHand}; ${leftToGenerated} left to the generated decoder)`);
  t.ok(leftToGenerated > 100, 'some left to the generated decoder');
});

t.test("the gateway's challenge (relay/frame-out.ts), then its answers: read by hand, as the generated decoder reads them", async (t) => {
  const nonce = rnd(32);
  const resumeKey = rnd(32);
  for (const rk of [resumeKey, null]) {
    const tail = encodeChallengeTail({ oprfPublicKey: rnd(32), oprfShareKeys: [], maxFrameBytes: 262_144, authDeadlineMs: 10_000, protocol: 1, mailboxMaxAgeS: 604_800, resumeKey: rk });
    const f = Buffer.from(encodeChallengeFrame(nonce, Date.now(), tail));
    const ops = readHandshakeFrame(f);
    t.ok(ops !== null, 'read by hand');
    t.same(generated(f), { ok: true, value: project(ops!) }, 'as the generated decoder');
    t.equal(hex(ops![0]!.challenge!.nonce), hex(nonce), 'the nonce');
    t.equal(ops![0]!.challenge!.maxFrameBytes, 262_144, 'max_frame_bytes');
    t.equal(hex(ops![0]!.challenge!.resumeKey), rk === null ? '' : hex(rk), 'the resume_key (none: empty)');
  }
  const answers: [string, Buffer, unknown][] = [
    ['ok', Buffer.from(encodeFrameOut([{ req: 1, ok: {} }], [])), { req: 1, ok: true, error: null }],
    ['RESUME_REFUSED', Buffer.from(encodeFrameOut([{ req: 1, error: { code: 'RESUME_REFUSED', message: 'sign' } }], [])), { req: 1, ok: false, error: 'RESUME_REFUSED' }],
  ];
  for (const [name, f, want] of answers) {
    const ops = readHandshakeFrame(f);
    t.ok(ops !== null, `${name}: read by hand`);
    t.same(generated(f), { ok: true, value: project(ops!) }, `${name}: as the generated decoder`);
    t.match(project(ops!)[0], want, name);
  }
  const ticket = rnd(69);
  const f = Buffer.from(wire.Frame.encode({ ops: [{ req: 3, ticket: { ticket, expiresInS: 86_400 } }] }).finish());
  t.same(project(readHandshakeFrame(f)!), [{ req: 3, challenge: null, ok: false, error: null, ticket: { ticket: hex(ticket), expiresInS: 86_400 } }], 'a ticket');
  const mail = Buffer.from(encodeFrameOut([{ req: 1, ok: {} }], [wire.Envelope.encode({ id: rnd(16) }).finish()]));
  t.equal(readHandshakeFrame(mail), null, 'mail in the frame of the ok: left to the generated decoder');
});

t.test('mutated handshake frames: both refuse, or both read the same', async (t) => {
  byHand = 0;
  const refused = agreeOnMutations(t, 20_000, randomFrame, generated, mine);
  t.ok(refused > 1000, `many mutations were refused by both (${refused})`);
  t.ok(byHand > 2000, `many mutations were read by hand (${byHand})`);
});

t.test('hostile shapes', async (t) => {
  const op = (body: number[]): Buffer => Buffer.from([0x0a, body.length + 2, (2 << 3) | 2, body.length, ...body]);
  const cases: [string, Buffer][] = [
    ['empty frame', Buffer.alloc(0)],
    ['empty challenge', op([])],
    ['field number 0 in the challenge', op([0x02, 0x00])],
    ['wire type 7 in the challenge', op([0x0f])],
    ['nonce past the end', op([0x0a, 0x05, 0x01])],
    ['nonce as a varint', op([0x08, 0x05])],
    ['11-byte server_time_ms', op([0x10, ...new Array(10).fill(0xff), 0x01])],
    ['10-byte server_time_ms', op([0x10, ...new Array(9).fill(0xff), 0x01])],
    ['11-byte max_frame_bytes', op([0x20, ...new Array(10).fill(0xff), 0x01])],
    ['max_frame_bytes as bytes', op([0x22, 0x01, 0x05])],
    ['unterminated group', op([(9 << 3) | 3, 0x08])],
    ['group ended by another field', op([(9 << 3) | 3, (8 << 3) | 4])],
    ['deep groups', op(new Array(110).fill((10 << 3) | 3))],
    ['group end without start', op([(10 << 3) | 4])],
    ['ok with a field', Buffer.of(0x0a, 0x04, (3 << 3) | 2, 0x02, 0x08, 0x01)],
    ['ok cut short', Buffer.of(0x0a, 0x04, (3 << 3) | 2, 0x02, 0x08, 0x81)],
    ['error code not UTF-8', Buffer.of(0x0a, 0x05, (4 << 3) | 2, 0x03, 0x0a, 0x01, 0xff)],
    ['ticket expiry over 10 bytes', Buffer.of(0x0a, 0x0e, (14 << 3) | 2, 0x0c, 0x10, ...new Array(10).fill(0xff), 0x01)],
  ];
  for (const [name, f] of cases) {
    const a = generated(f);
    const b = mine(f);
    t.equal(b.ok, a.ok, `${name}: ${a.ok ? 'accepted' : 'refused'} by both`);
    if (a.ok && b.ok) t.same(b.value, a.value, name);
  }
});

t.test('writeAuthFrame: the bytes of wire.Frame.encode, signed or resumed, exactly authFrameSize', async (t) => {
  const opt = (n: number): Uint8Array | undefined => pick([undefined, new Uint8Array(0), rnd(n), rnd(200)]);
  for (let i = 0; i < 2000; i++) {
    const req = pick([0, 1, 2, 3, 127, 128, 16_384, 2 ** 31 - 1, 2 ** 32 - 1]);
    const a: AuthFields = pick([
      { route: rnd(32), device: rnd(16), signature: rnd(64) },
      { route: rnd(32), device: rnd(16), ticket: rnd(69), proof: rnd(32) },
    ]);
    if (randomInt(0, 4) === 0) {
      a.route = opt(32) ?? new Uint8Array(0);
      a.device = opt(16) ?? new Uint8Array(0);
      const s = opt(64);
      if (s !== undefined) a.signature = s;
      const tk = opt(69);
      if (tk !== undefined) a.ticket = tk;
      const p = opt(32);
      if (p !== undefined) a.proof = p;
    }
    const want = hex(wire.Frame.encode({ ops: [{ req, auth: { ...a } }] }).finish());
    const size = authFrameSize(req, a);
    const out = Buffer.alloc(size + 5, 0xee);
    const end = writeAuthFrame(out, 2, req, a);
    if (end !== 2 + size || out[0] !== 0xee || out[end] !== 0xee) {
      t.fail(`wrote [2, ${end}) for a size of ${size}`);
      return;
    }
    if (hex(out.subarray(2, end)) !== want) {
      t.equal(hex(out.subarray(2, end)), want, `req ${req}`);
      return;
    }
  }
  t.pass('2000 auth frames as the generated encoder writes them');
});
