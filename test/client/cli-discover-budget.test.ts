// What a user reads when the device's discovery budget is spent (the gateway refuses
// the evaluation RATE_LIMITED, retry_after_ms until the budget's window ends, up to a
// day): `hushwire discover` and `hushwire send` to a new number say the gateway's
// reason and when to try again, in hours; and a lookup the SDK then holds back unsent
// (client/lookup-pacing.ts: the evaluations of a long-lived client paced 60 s apart
// after such a refusal) says the same reason and time through the CLI's error line, not
// only "lookup not sent".
import t from 'tap';
import { join } from 'node:path';
import { hushwire, errorLineProblems } from '../helpers/cli.ts';
import { startTestGateway, warmEvaluator } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { HushwireClient, HushwireError } from '../../client/index.ts';
import { formatError, exitCodeFor, ExitCode } from '../../cli/errors.ts';

t.setTimeout(240_000);

// The budget's window began at registration, a moment ago: ~24 h left.
const DAY_LEFT = /try again in (24 h|23 h \d+ min) \(RATE_LIMITED\)$/;

t.test('a spent discovery budget: the gateway\'s reason and the time left, in hours', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn', discoveryFirstSync: 2, discoveryDaily: 2 });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const dir = tempDir('hw-cli-discover-budget-');
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  const B = freshNumber();
  for (const [profile, number] of [[a, freshNumber()], [b, B]] as const) {
    const r = await hushwire(['register', '--gateway', gw.url, '--number', number, '--profile', profile]);
    t.equal(r.code, 0, r.stderr);
  }

  const ok = await hushwire(['discover', '--profile', a, B, freshNumber()]);
  t.equal(ok.code, 0, `the budget's 2 numbers: ${ok.stderr}`);
  const spent = await hushwire(['discover', '--profile', a, freshNumber()]);
  t.equal(spent.code, 5, 'exit 5');
  t.equal(spent.stdout, '', 'nothing printed');
  t.same(errorLineProblems(spent, 'RATE_LIMITED'), []);
  t.match(spent.stderr.trim(), /^hushwire: discovery budget of this device used up \(2 numbers in its first 24 h\); /, 'the gateway\'s reason');
  t.match(spent.stderr.trim(), DAY_LEFT, `when, in hours: ${spent.stderr.trim()}`);
  const send = await hushwire(['send', '--profile', a, '--to', freshNumber(), 'hello']);
  t.equal(send.code, 5, 'a send to a new number: exit 5');
  t.match(send.stderr.trim(), /^hushwire: discovery budget of this device used up \(2 numbers in its first 24 h\); /);
  t.match(send.stderr.trim(), DAY_LEFT);

  // A long-lived client (an app on the SDK): after one such refusal, its next
  // evaluations within the minute are held back unsent. Their error, as the CLI prints
  // it, still says the budget and the day.
  const c = await HushwireClient.open(a, { receive: false, ownDevicesCheckMs: 0, prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  const first = await c.discover([freshNumber()]).then(() => null, (e: unknown) => e);
  t.match(formatError(first), /^hushwire: discovery budget of this device used up \(2 numbers in its first 24 h\); /);
  const held = await c.safetyNumber(freshNumber()).then(() => null, (e: unknown) => e);
  t.ok(held instanceof HushwireError, 'held back');
  const line = formatError(held);
  t.match(line, /^hushwire: lookup not sent: the gateway refused the last one: discovery budget of this device used up \(2 numbers in its first 24 h\); /, `the reason: ${line}`);
  t.match(line, DAY_LEFT, 'when, in hours');
  t.equal(exitCodeFor(held), ExitCode.UNAVAILABLE, 'exit 5, as the refusal itself');
});
