// VerifierWatch (relay/verifier/watch.ts): one warn line per 10 s during an outage,
// which states what became of every charge it stands for, and the next successful
// delivery says what the throttle still held back. No I/O: a fake clock and log.
import t from 'tap';
import { VerifierWatch, WARN_EVERY_MS } from '../../relay/verifier/watch.ts';
import { VerifierFailure } from '../../relay/verifier/verifier.ts';
import { createMetrics } from '../../relay/metrics.ts';
import type { Logger } from '../../relay/log.ts';

function setup() {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, msg: string) => { lines.push({ fields, msg }); } } as unknown as Logger;
  let clock = 0;
  const watch = new VerifierWatch(createMetrics({ defaultMetrics: false }), log, () => clock);
  return { watch, lines, advance: (ms: number) => { clock += ms; } };
}
const refused = new VerifierFailure('failed', 'HTTP 503', 'verifier answered HTTP 503', { notSent: true });
const erroring = new VerifierFailure('failed', 'HTTP 500', 'verifier answered HTTP 500');

t.test('a throttled line counts each charge by its fate, not by the last failure\'s', async (t) => {
  const { watch, lines, advance } = setup();
  watch.failed(refused, 'refunded');
  t.equal(lines.length, 1, 'the first failure at once');
  for (let i = 0; i < 6; i++) { advance(100); watch.failed(refused, 'refunded'); }
  advance(100);
  watch.failed(erroring, 'withheld');
  t.equal(lines.length, 1, 'held back within the 10 s');
  advance(WARN_EVERY_MS);
  watch.failed(erroring, 'withheld');
  t.equal(lines.length, 2);
  t.match(lines[1]!.fields, { failures: 8, charges: { refunded: 6, withheld: 2, kept: 0 }, reason: 'HTTP 500', refunded: false });
  t.match(lines[1]!.msg, /\(8 failed deliveries since the last such line: 6 charges given back, 2 kept, the code perhaps sent\)$/);
});

t.test('what the throttle held back is said when the verifier works again', async (t) => {
  const { watch, lines, advance } = setup();
  watch.failed(refused, 'refunded');
  advance(100);
  watch.failed(erroring, 'withheld');
  advance(100);
  watch.failed(refused, 'kept');
  t.equal(lines.length, 1);
  watch.delivered();
  t.equal(lines.length, 2);
  t.match(lines[1]!.fields, { failures: 2, charges: { refunded: 0, withheld: 1, kept: 1 } });
  t.match(lines[1]!.msg, /^verifier delivering again; 2 failed deliveries were not logged one by one \(1 kept, the code perhaps sent, 1 kept, the refund failed\)$/);
  watch.delivered();
  t.equal(lines.length, 2, 'nothing held back: no line for an ordinary success');
});
