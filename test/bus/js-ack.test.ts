// JetStream ack reply subjects: the fields the mailbox drain reads from them, in both
// of nats-server's formats, and everything else refused (no I/O: the parser alone).
import t from 'tap';
import { readAckReply, ackStreamIs, newAckFields } from '../../relay/bus/js-ack.ts';

t.test('v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>', async (t) => {
  const f = newAckFields();
  const r = '$JS.ACK.HW_MBOX_3.c0nsum3r.1.4711.12.1733356800000000000.42';
  t.equal(readAckReply(r, f), true);
  t.equal(f.consumer, 'c0nsum3r');
  t.equal(f.seq, 4711);
  t.equal(f.pending, 42);
  t.equal(ackStreamIs(r, f, 'HW_MBOX_3'), true);
  t.equal(ackStreamIs(r, f, 'HW_MBOX_33'), false, 'a longer name');
  t.equal(ackStreamIs(r, f, 'HW_MBOX_'), false, 'a prefix of it');
  t.equal(ackStreamIs(r, f, 'HW_MBOX_4'), false, 'another shard');
});

t.test('v2: with domain and account hash, and a trailing token', async (t) => {
  const f = newAckFields();
  for (const tail of ['', '.randomtoken', '.a.b']) {
    const r = `$JS.ACK._.ACCHASH.HW_MBOX.cons.2.999999999999999.7.1733356800000000000.0${tail}`;
    t.equal(readAckReply(r, f), true, tail || 'no trailing token');
    t.equal(f.consumer, 'cons');
    t.equal(f.seq, 999_999_999_999_999, 'the largest sequence read (15 digits)');
    t.equal(f.pending, 0);
    t.equal(ackStreamIs(r, f, 'HW_MBOX'), true);
  }
});

t.test('the same fields as splitting the subject, on random well-formed replies', async (t) => {
  const f = newAckFields();
  const word = () => Math.random().toString(36).slice(2, 2 + 1 + Math.floor(Math.random() * 10));
  const num = () => String(Math.floor(Math.random() * 1e12));
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    const v2 = i % 2 === 1;
    const parts = ['$JS', 'ACK', ...(v2 ? [word(), word()] : []), word(), word(), num(), num(), num(), num(), num(), ...(v2 && i % 4 === 1 ? [word()] : [])];
    const reply = parts.join('.');
    const b = v2 ? 4 : 2;
    if (!readAckReply(reply, f)) { t.fail(`refused ${reply}`); continue; }
    if (f.consumer !== parts[b + 1] || f.seq !== Number(parts[b + 3]) || f.pending !== Number(parts[b + 6]) || !ackStreamIs(reply, f, parts[b]!)) {
      t.fail(`differs for ${reply}`);
    }
    n++;
  }
  t.equal(n, 2000);
});

t.test('not an ack reply, or malformed: refused', async (t) => {
  const f = newAckFields();
  const bad = [
    '',
    '_INBOX.abc.def',
    '$JS.ACK',
    '$JS.ACK.',
    '$JS.API.CONSUMER.INFO.S.C',
    '$JS.ACK.S.C.1.2.3.4', // too few tokens
    '$JS.ACK.S.C.1.2.3.4.5.6', // 10 tokens: neither format
    '$JS.ACK.S.C.1.x2.3.4.5', // sseq not a number
    '$JS.ACK.S.C.1.2.3.4.-5', // pending not a number
    '$JS.ACK.S.C.1..3.4.5', // empty sseq
    '$JS.ACK..C.1.2.3.4.5', // empty stream
    '$JS.ACK.S..1.2.3.4.5', // empty consumer
    '$JS.ACK.S.C.1.1234567890123456.3.4.5', // 16 digits: beyond what is read exactly
    `$JS.ACK.${'a.'.repeat(20)}1`, // too many tokens
    '$js.ack.S.C.1.2.3.4.5', // case matters
  ];
  for (const r of bad) t.equal(readAckReply(r, f), false, JSON.stringify(r));
});
