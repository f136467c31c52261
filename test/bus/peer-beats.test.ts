// The beats by which a gateway finds another's announcements lost between NATS nodes
// (relay/bus/peer-beats.ts), on a test clock: a jump in a peer's count or its silence is
// a gap reported with the moment of its last beat heard, at most every
// BEAT_REPORT_EVERY_MS (the earliest loss), and nothing else is.
import t from 'tap';
import { PeerBeats, BEAT_SILENCE_MS, BEAT_REPORT_EVERY_MS } from '../../relay/bus/peer-beats.ts';

const te = new TextEncoder();
const beat = (node: string, seq: number): Uint8Array => te.encode(`${node}.${seq}`);
const P = 'aaaaaaaaaaaaaaaa';
const Q = 'bbbbbbbbbbbbbbbb';

function setup(): { beats: PeerBeats; gaps: number[]; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const gaps: number[] = [];
  const beats = new PeerBeats(() => clock.now, (lostAt) => gaps.push(lostAt));
  return { beats, gaps, clock };
}

t.test('beats in order: no gap; a jump: a gap from the last beat heard', async (t) => {
  const { beats, gaps, clock } = setup();
  for (let i = 1; i <= 5; i++) {
    beats.heard(beat(P, i));
    clock.now += 250;
    beats.check();
  }
  t.same(gaps, [], 'in order, nothing');
  const last = clock.now - 250;
  clock.now += 500;
  beats.heard(beat(P, 9)); // 6, 7, 8 lost
  t.same(gaps, [last], 'the jump is reported at once, lost since the last beat heard');
  beats.heard(beat(P, 9));
  beats.heard(beat(P, 7));
  t.equal(gaps.length, 1, 'repeats and late ones change nothing');
});

t.test('silence: reported once; the jump when it is heard again is reported too', async (t) => {
  const { beats, gaps, clock } = setup();
  beats.heard(beat(P, 1));
  const at = clock.now;
  clock.now += BEAT_SILENCE_MS;
  beats.check();
  t.same(gaps, [], 'not before the silence is past');
  clock.now += 1;
  beats.check();
  t.same(gaps, [at], 'silent: reported, from its last beat');
  clock.now += BEAT_SILENCE_MS * 3;
  beats.check();
  t.equal(gaps.length, 1, 'once');
  beats.heard(beat(P, 40));
  t.same(gaps, [at, at], 'back with beats missing: what it published meanwhile may be lost too');
});

t.test('a stall of this gateway\'s own is no silence: judged at the next check, once the beats that came meanwhile are read', async (t) => {
  const { beats, gaps, clock } = setup();
  beats.heard(beat(P, 1));
  beats.check();
  clock.now += BEAT_SILENCE_MS * 4; // the event loop blocked; P's beats wait in the socket
  beats.check();
  t.same(gaps, [], 'the first check after the stall judges nothing');
  for (let i = 2; i <= 40; i++) beats.heard(beat(P, i));
  clock.now += 250;
  beats.check();
  t.same(gaps, [], 'the beats were all there: no gap');
  clock.now += BEAT_SILENCE_MS + 1;
  beats.check(); // a stall again
  clock.now += 250;
  beats.check();
  t.equal(gaps.length, 1, 'P silent indeed: reported at the check after');
});

t.test('reports are held to one per BEAT_REPORT_EVERY_MS, covering the earliest loss', async (t) => {
  const { beats, gaps, clock } = setup();
  t.equal(beats.foundAt, Number.NEGATIVE_INFINITY, 'no gap found yet');
  beats.heard(beat(P, 1));
  beats.heard(beat(Q, 1));
  const first = clock.now;
  clock.now += 100;
  beats.heard(beat(P, 3));
  t.same(gaps, [first]);
  clock.now += 100;
  const qAt = first;
  beats.heard(beat(Q, 5)); // lost since `first` too, within the hold
  t.equal(gaps.length, 1, 'held back');
  t.equal(beats.foundAt, clock.now, 'foundAt: when the last gap was found, held back or not (the bus reads at the leader from then on)');
  clock.now += BEAT_REPORT_EVERY_MS;
  beats.check();
  t.same(gaps, [first, qAt], 'reported once the hold is past');
});

t.test('a closing peer (seq 0) is forgotten without a report; own beats, malformed ones and a reset', async (t) => {
  const { beats, gaps, clock } = setup();
  beats.heard(beat(P, 1));
  beats.heard(beat(P, 0));
  clock.now += BEAT_SILENCE_MS * 2;
  beats.check();
  t.same(gaps, [], 'gone on purpose: no silence');
  beats.heard(beats.next());
  beats.heard(beats.next());
  beats.heard(te.encode(`${beats.node}.9`));
  for (const bad of ['', 'x', `${P}.`, `${P}.-1`, `${P}.01`, `${P.slice(1)}.1`, `${P}.1.2`, 'A'.repeat(16) + '.1']) beats.heard(te.encode(bad));
  clock.now += BEAT_SILENCE_MS * 2;
  beats.check();
  t.same(gaps, [], 'own and malformed beats are no peers');
  beats.heard(beat(Q, 1));
  beats.reset();
  clock.now += BEAT_SILENCE_MS * 2;
  beats.check();
  beats.heard(beat(Q, 50));
  t.same(gaps, [], 'after a reset (this gateway\'s own loss) peers are learnt again, no gap');
  t.match(new TextDecoder().decode(beats.bye()), /^[0-9a-f]{16}\.0$/, 'the closing beat');
});
