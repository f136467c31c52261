// RepeatedLog (relay/log.ts): the one throttle behind every "this can happen many times
// a second" line (Relay.warnRepeated, the bus's malformed-input and overflow lines). A
// unit test with no I/O: the clock is passed in.
import t from 'tap';
import { RepeatedLog, REPEATED_LOG_EVERY_MS } from '../../relay/log.ts';

function capture(everyMs?: number): { log: RepeatedLog; lines: { msg: string; fields: Record<string, unknown> }[] } {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const log = new RepeatedLog((msg, fields) => lines.push({ msg, fields }), everyMs);
  return { log, lines };
}

t.test('the first occurrence is written at once, with times 1', async (t) => {
  const { log, lines } = capture();
  log.note('a', { conn: 7 }, 1_000);
  t.strictSame(lines, [{ msg: 'a', fields: { conn: 7, times: 1 } }]);
});

t.test('occurrences within the interval are counted, not written; the next line carries the count', async (t) => {
  const { log, lines } = capture(10_000);
  log.note('a', {}, 0);
  for (let i = 1; i <= 49; i++) log.note('a', { conn: i }, i * 100);
  t.equal(lines.length, 1, 'one line for 50 occurrences within 10 s');
  log.note('a', { conn: 99 }, 10_000);
  t.equal(lines.length, 2, 'a line once the interval has passed');
  t.strictSame(lines[1], { msg: 'a', fields: { conn: 99, times: 50 } }, '49 counted in between plus this one; the fields are this occurrence\'s');
  log.note('a', {}, 10_001);
  t.equal(lines.length, 2, 'the interval starts again at the last line');
  log.note('a', {}, 20_000);
  t.strictSame(lines[2]?.fields, { times: 2 }, 'the count restarts after each line');
});

t.test('each message has its own interval and count', async (t) => {
  const { log, lines } = capture(10_000);
  log.note('a', {}, 0);
  log.note('b', {}, 1);
  log.note('a', {}, 2);
  log.note('b', {}, 3);
  log.note('b', {}, 4);
  t.strictSame(lines.map((l) => l.msg), ['a', 'b'], 'b is written although a was just written');
  log.note('a', {}, 10_000);
  log.note('b', {}, 10_001);
  t.strictSame(lines.slice(2), [{ msg: 'a', fields: { times: 2 } }, { msg: 'b', fields: { times: 3 } }]);
});

t.test('a caller\'s `times` field cannot override the count, and the fields object is not changed', async (t) => {
  const { log, lines } = capture();
  const fields = { times: 1_000 };
  log.note('a', fields, 0);
  t.equal(lines[0]?.fields.times, 1);
  t.strictSame(fields, { times: 1_000 }, 'the caller\'s object is left as it was');
});

t.test('an interval of 0 writes every occurrence', async (t) => {
  const { log, lines } = capture(0);
  for (let i = 0; i < 5; i++) log.note('a', {}, 42);
  t.equal(lines.length, 5);
  t.ok(lines.every((l) => l.fields.times === 1));
});

t.test('the default interval is 10 s, and bad intervals are refused', async (t) => {
  t.equal(REPEATED_LOG_EVERY_MS, 10_000);
  const { log, lines } = capture();
  log.note('a', {}, 0);
  log.note('a', {}, 9_999);
  log.note('a', {}, 10_000);
  t.strictSame(lines.map((l) => l.fields.times), [1, 2]);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => new RepeatedLog(() => {}, bad), RangeError, `everyMs ${bad}`);
  }
});
