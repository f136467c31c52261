// Ctrl-C (SIGINT) or SIGTERM ends `hushwire listen` with exit 0, its reader lock
// (listen.lock) removed. Before, once a message had come, the profile's record lock had
// loaded proper-lockfile, whose signal-exit listener re-raises a signal when it finds
// itself the only listener left: listen's own handler was a process.once, already taken
// off when signal-exit looked (it runs after it: loaded later, at the first state.json
// write), so listen died of the signal (exit 130 or 143, nothing
// said) before it closed its connection and removed listen.lock.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles, startHushwire } from '../helpers/cli.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const A = '+15550100071';
const B = '+15550100072';

async function stopAfterAMessage(t: Test, signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-signal-');
  // A listen before: the profile's state.json exists when the next one writes it.
  const first = await hushwire(['send', '--profile', a!, '--to', B, 'first']);
  t.equal(first.code, 0, first.stderr);
  const took = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '20']);
  t.equal(took.code, 0, took.stderr);
  const sent = await hushwire(['send', '--profile', a!, '--to', B, 'before the signal']);
  t.equal(sent.code, 0, sent.stderr);
  // Bounded by --timeout should the signal be lost.
  // Without tap's NODE_OPTIONS (startHushwire's withoutTapHooks): with them, the fault hid.
  const listen = startHushwire(t, ['listen', '--profile', b!, '--timeout', '60'], { withoutTapHooks: true });
  await until('listen printing the message', () => listen.stdout().includes('\n'), 20_000);
  const m = JSON.parse(listen.stdout().split('\n')[0]!) as { id: string; text: string };
  t.match(m, { text: 'before the signal', id: JSON.parse(sent.stdout).id });
  // Recorded as shown in state.json (a write under the record lock): proper-lockfile loaded.
  await until('listen recording the message in state.json', () => readFileSync(join(b!, 'state.json'), 'utf8').includes(m.id), 20_000);
  t.ok(existsSync(join(b!, 'listen.lock')), 'listen holds its reader lock');
  listen.proc.kill(signal);
  const code = await within(listen.exited, 30_000, `listen ending after ${signal}`);
  t.equal(listen.proc.signalCode, null, `listen handles ${signal}, it is not killed by it`);
  t.equal(code, 0, `exit 0 after ${signal} (stderr: ${listen.stderr()})`);
  t.equal(listen.stderr(), '', 'nothing said: the user ended it');
  t.notOk(existsSync(join(b!, 'listen.lock')), 'listen.lock removed');
}

t.test('listen ends on SIGINT after a message: exit 0, reader lock removed', (t) => stopAfterAMessage(t, 'SIGINT'));
t.test('listen ends on SIGTERM after a message: exit 0, reader lock removed', (t) => stopAfterAMessage(t, 'SIGTERM'));
