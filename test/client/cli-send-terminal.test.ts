// `hushwire send --to N -` at a terminal: it reads the message from stdin, and before
// said nothing while it waited (a user saw a command that hung). It now says what it
// waits for on stderr; the message typed, Enter and Ctrl-D send it. `discover --file -`
// likewise. Run under script(1) on a pty of its own (hushwireAtTerminal), as
// test/client/cli-signal-again.test.ts does for register.
import t from 'tap';
import { hushwire, cliProfiles, hushwireAtTerminal, haveScript } from '../helpers/cli.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const A = '+15550100341';
const B = '+15550100342';

t.test('send - at a terminal says what it waits for; Enter and Ctrl-D send the message', { skip: haveScript ? false : 'script(1) not installed' }, async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-sendtty-');
  const run = hushwireAtTerminal(t, ['send', '--profile', a!, '--to', B, '-']);
  await until('the prompt', () => run.out().includes('type the message, then Enter and Ctrl-D to send it') || run.proc.exitCode !== null, 60_000);
  t.match(run.out(), /type the message, then Enter and Ctrl-D to send it \(Ctrl-C: nothing is sent\)/);
  run.type('typed at the terminal\n');
  run.type('\x04');
  const code = await within(run.exited, 60_000, `send ending (output: ${JSON.stringify(run.out())})`);
  t.equal(code, 0, run.out());
  t.match(run.out(), /\{"id":"[0-9a-f]+","status":"stored"\}/);
  const heard = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '30'], { timeoutMs: 60_000 });
  t.equal(heard.code, 0, heard.stderr);
  t.equal((JSON.parse(heard.stdout) as { text: string }).text, 'typed at the terminal');
});

t.test('send - from a pipe says nothing of it', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, [A, B], 'hw-cli-sendpipe-');
  const r = await hushwire(['send', '--profile', a!, '--to', B, '-'], { input: 'piped\n' });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
});

t.test('discover --file - at a terminal says what it waits for', { skip: haveScript ? false : 'script(1) not installed' }, async (t) => {
  const { profiles: [a] } = await cliProfiles(t, [A, B], 'hw-cli-discovertty-');
  const run = hushwireAtTerminal(t, ['discover', '--profile', a!, '--file', '-']);
  await until('the prompt', () => run.out().includes('type the numbers, one per line') || run.proc.exitCode !== null, 60_000);
  t.match(run.out(), /type the numbers, one per line, then Enter and Ctrl-D \(Ctrl-C: nothing is asked\)/);
  run.type(`${B}\n`);
  run.type('\x04');
  const code = await within(run.exited, 60_000, `discover ending (output: ${JSON.stringify(run.out())})`);
  t.equal(code, 0, run.out());
  t.match(run.out(), /\{"number":"\+15550100342","registered":true,"devices":1\}/);
});
