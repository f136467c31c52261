// relay/frame-out.ts against the generated decoder: the hand-assembled frames (receipts
// written directly, other ops through the generated encoder, envelopes spliced in) must
// decode with the generated code to exactly what was put in.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { wire, type OpProps } from '../../relay/wire.ts';
import { encodeChallengeFrame, encodeChallengeTail, encodeFrameOut, mailboxMaxAgeField, encodeSendResultOp, type OutItem, type ReceiptOut } from '../../relay/frame-out.ts';
import { varintSize } from '../../relay/varint.ts';
import { encodeRelayed } from '../../relay/relayed-envelope.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const pick = <T>(xs: readonly T[]): T => xs[randomInt(0, xs.length)] as T;

function receipt(): ReceiptOut {
  return {
    id: rnd(pick([16, 0, 1, 200])),
    status: pick(['delivered', 'stored', 'failed', '', 'ünïcode']),
    code: pick(['', 'RATE_LIMITED', 'NOT_REGISTERED', 'é']),
    retryAfterMs: pick([0, 1, 127, 128, 30_000, 2 ** 32 - 1]),
  };
}

t.test('varintSize', async (t) => {
  for (const [n, s] of [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2 ** 32 - 1, 5], [Number.MAX_SAFE_INTEGER, 8]] as const) {
    t.equal(varintSize(n), s, String(n));
  }
});

t.test('a send_result op decodes to its receipts', async (t) => {
  for (let i = 0; i < 1000; i++) {
    const req = pick([0, 1, 200, 2 ** 31, 2 ** 32 - 1]);
    const rs = Array.from({ length: randomInt(0, 5) }, receipt);
    const op = wire.Op.decode(encodeSendResultOp(req, rs));
    const got = (op.sendResult?.receipts ?? []) as { id: Uint8Array; status: string; code: string; retryAfterMs: number }[];
    const ok = ((op.req ?? 0) >>> 0) === req && op.body === 'sendResult' && got.length === rs.length
      && got.every((r, j) => {
        const w = rs[j]!;
        return Buffer.from(r.id).equals(Buffer.from(w.id)) && r.status === w.status && r.code === w.code && r.retryAfterMs === w.retryAfterMs;
      });
    if (!ok) {
      t.fail(`req ${req}, receipts ${JSON.stringify(rs)}`);
      return;
    }
  }
  t.pass('1000 random send_result ops');
});

t.test('frames: pre-encoded ops, generated ops and delivered envelopes, in order', async (t) => {
  for (let i = 0; i < 500; i++) {
    const items: OutItem[] = [];
    const expect: string[] = [];
    for (let k = randomInt(0, 5); k > 0; k--) {
      const kind = randomInt(0, 3);
      if (kind === 2) {
        // a send's single receipt, queued as its req then the receipt
        const req = pick([0, 1, randomInt(1, 1000), 2 ** 32 - 1]);
        items.push(req, receipt());
        expect.push(`sendResult:${req}`);
      } else if (kind === 0) {
        const req = randomInt(1, 1000);
        items.push(encodeSendResultOp(req, [receipt()]));
        expect.push(`sendResult:${req}`);
      } else {
        const req = randomInt(1, 1000);
        items.push(pick<OpProps>([{ req, ok: {} }, { req, error: { code: 'X', message: 'm', retryAfterMs: 5 } }, { req, reconnect: { retryAfterMs: 1, reason: 'draining' } }]));
        expect.push(`${String(Object.keys(items[items.length - 1] as object)[1])}:${req}`);
      }
    }
    const envs = Array.from({ length: randomInt(0, 4) }, () => encodeRelayed({ version: 1, id: rnd(16), suite: 1, enc: rnd(32), ciphertext: rnd(pick([16, 272, 20_000])), serverTs: Date.now() }));
    const frame = wire.Frame.decode(encodeFrameOut(items, envs));
    const got = frame.ops.map((o) => `${String(o.body)}:${(o.req ?? 0) >>> 0}`);
    if (envs.length > 0) expect.push('deliver:0');
    if (JSON.stringify(got) !== JSON.stringify(expect)) {
      t.same(got, expect);
      return;
    }
    if (envs.length > 0) {
      const delivered = (frame.ops[frame.ops.length - 1]?.deliver?.envelopes ?? []).map((e) => Buffer.from(wire.Envelope.encode(e).finish()).toString('hex'));
      t.same(delivered, envs.map((e) => Buffer.from(e).toString('hex')), 'envelopes spliced in unchanged');
    }
  }
  t.same(wire.Frame.decode(encodeFrameOut([], [])).ops, [], 'nothing: an empty frame');
});

t.test('a single receipt (req, receipt) is written as encodeSendResultOp(req, [receipt]) would be, byte for byte', async (t) => {
  for (let i = 0; i < 1000; i++) {
    const req = pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1]);
    const r = receipt();
    const other: OpProps = { req: 3, ok: {} };
    const inline = Buffer.from(encodeFrameOut([other, req, r, other], []));
    const viaOp = Buffer.from(encodeFrameOut([other, encodeSendResultOp(req, [r]), other], []));
    if (!inline.equals(viaOp)) {
      t.fail(`req ${req}, receipt ${JSON.stringify(r)}`);
      return;
    }
  }
  t.pass('1000 receipts');
  t.throws(() => encodeFrameOut([5], []), TypeError, 'a req with no receipt after it is refused');
  t.throws(() => encodeFrameOut([5, 6, receipt()], []), TypeError, 'a req followed by another req is refused');
});

t.test('the challenge frame: byte for byte the generated encoding, and decodes to what was put in', async (t) => {
  for (let i = 0; i < 300; i++) {
    const tail = {
      oprfPublicKey: rnd(32),
      oprfShareKeys: pick([[], [rnd(32), rnd(32)], [rnd(32), rnd(32), rnd(32)]]),
      maxFrameBytes: pick([1, 127, 128, 262_144, 2 ** 32 - 1]),
      authDeadlineMs: pick([1, 10_000, 2 ** 31]),
      protocol: pick([1, 2, 300]),
      mailboxMaxAgeS: pick([0, 1, 127, 128, 30 * 86_400, 2 ** 32 - 1]),
    };
    const nonce = rnd(32);
    const now = pick([1, 127, 128, Date.now(), Date.now() + randomInt(0, 2 ** 40), Number.MAX_SAFE_INTEGER]);
    const challenge = {
      nonce,
      serverTimeMs: now,
      oprfPublicKey: tail.oprfPublicKey,
      maxFrameBytes: tail.maxFrameBytes,
      authDeadlineMs: tail.authDeadlineMs,
      protocol: tail.protocol,
      oprfShareKeys: tail.oprfShareKeys,
      mailboxMaxAgeS: tail.mailboxMaxAgeS,
    };
    const got = encodeChallengeFrame(nonce, now, encodeChallengeTail(tail));
    const want = wire.Frame.encode({ ops: [{ challenge }] }).finish();
    if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0) {
      t.fail(`challenge ${i}: bytes differ`);
      return;
    }
    const op = wire.Frame.decode(got).ops[0]!;
    if (op.req !== 0 || op.body !== 'challenge' || op.challenge!.serverTimeMs !== now || Buffer.compare(Buffer.from(op.challenge!.nonce!), Buffer.from(nonce)) !== 0
      || op.challenge!.oprfShareKeys!.length !== tail.oprfShareKeys.length || (op.challenge!.mailboxMaxAgeS ?? 0) !== tail.mailboxMaxAgeS) {
      t.fail(`challenge ${i}: decodes to something else`);
      return;
    }
  }
  t.pass('300 challenges: equal bytes, same fields');
});

t.test('challenge field 8 (mailbox_max_age_s) from the mailbox retention in ms', async (t) => {
  t.equal(mailboxMaxAgeField(30 * 86_400_000), 30 * 86_400, '30 days');
  t.equal(mailboxMaxAgeField(60_001), 61, 'rounded up: never less than the mail lives');
  t.equal(mailboxMaxAgeField(1), 1, 'at least 1 (0 reads as "not told")');
  t.equal(mailboxMaxAgeField(Infinity), 2 ** 32 - 1, 'no limit: the largest value');
  t.equal(mailboxMaxAgeField(2 ** 32 * 1000), 2 ** 32 - 1, 'beyond the field: the largest value');
  for (const bad of [0, -1, NaN, '5' as unknown as number]) t.throws(() => mailboxMaxAgeField(bad), TypeError, String(bad));
});
