// `hushwire listen | slow-consumer` whose reader stopped reading (not exited): the pipe
// fills and listen's write of the next line waits. --timeout or one SIGTERM then waited
// for that write with no deadline (the loop sat in `await writeLine`), so listen neither
// exited nor said anything. Now such a stop ends the wait: the message being written is
// given back (never acknowledged) and comes again, whole, to the next listen.
import t, { type Test } from 'tap';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient } from '../../client/index.ts';
import { hushwire, cliProfiles, startHushwire, type RunningCommand } from '../helpers/cli.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(240_000);

const A = '+15550100041';
const B = '+15550100042';
/** Messages of ~60 kB each: 16 of them (~1 MB of lines) are far more than a pipe (64 KiB)
 *  and this test's unread stream buffer hold, so listen's write stalls on one of them. */
const MESSAGES = 16;
const BODY = 'x'.repeat(60_000);

/** The whole lines in `out` (each ends with a newline), parsed, and what follows the last
 *  newline: a line cut when listen abandoned its write, or ''. */
function linesOf(t: Test, out: string): { ids: string[]; cut: string } {
  const lines = out.split('\n');
  const cut = lines.pop()!;
  const msgs = lines.map((l) => JSON.parse(l) as { id: string; text: string });
  t.ok(msgs.every((m) => m.text.endsWith(BODY)), `each of the ${msgs.length} whole lines holds its whole text`);
  return { ids: msgs.map((m) => m.id), cut };
}

/** A listen on B's profile (with `args`) whose stdout this test does not read, stalled on
 *  its write of one of MESSAGES messages queued for it before it started. */
async function stalledListen(t: Test, args: string[]): Promise<{ b: string; sent: string[]; listen: RunningCommand; ended: Promise<number | null> }> {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-stall-');
  // Queued before listen starts: it takes them as fast as its stdout lets it.
  const sender = await HushwireClient.open(a!);
  t.teardown(() => sender.close());
  await sender.connect();
  const sent: string[] = [];
  for (let i = 0; i < MESSAGES; i++) sent.push((await sender.send(B, `m${i}:${BODY}`)).id);
  await sender.close();

  const listen = startHushwire(t, ['listen', '--profile', b!, ...args]);
  // This test does not read listen's stdout until listen has ended: a stalled reader.
  listen.proc.stdout!.pause();
  // `exited` waits for the pipes to close too, which the unread stdout never does.
  const ended = new Promise<number | null>((resolve) => listen.proc.on('exit', (code) => resolve(code)));

  // Stalled: messages recorded as shown (before each is handed to listen's write), and no
  // more of them for a while.
  let last = -1;
  let same = 0;
  await until('listen stalling on its stdout', () => {
    const now = seenCount(b!);
    same = now > 0 && now === last ? same + 1 : 0;
    last = now;
    return same >= 10;
  }, 60_000, 100);
  t.ok(last < MESSAGES, `listen stalled before the last message (${last} of ${MESSAGES} recorded)`);
  return { b: b!, sent, listen, ended };
}

/** How many message ids the profile's state.json records as shown (-1: none readable). */
function seenCount(profile: string): number {
  try {
    return (JSON.parse(readFileSync(join(profile, 'state.json'), 'utf8')) as { seen: string[] }).seen.length;
  } catch {
    return -1;
  }
}

async function stopStalled(t: Test, stop: 'timeout' | 'SIGTERM'): Promise<void> {
  const timeoutS = 15;
  const { b, sent, listen, ended } = await stalledListen(t, stop === 'timeout' ? ['--timeout', String(timeoutS)] : []);
  if (stop === 'SIGTERM') listen.proc.kill('SIGTERM');
  // A generous deadline: the point is that it exits at all, not how fast.
  const code = await within(ended, (stop === 'timeout' ? timeoutS : 0) * 1000 + 30_000, `listen ending after ${stop} with its stdout stalled`);
  // Now read what the pipe held (and the rest of stderr).
  listen.proc.stdout!.resume();
  await within(listen.exited, 30_000, 'listen\'s stdout pipe draining');
  t.equal(code, stop === 'timeout' ? 3 : 0, `exit ${stop === 'timeout' ? '3 (TIMEOUT)' : '0'} (stderr: ${listen.stderr()})`);
  t.match(listen.stderr(), /stdout did not take the last message in time.*kept for the next listen/);
  if (stop === 'timeout') t.match(listen.stderr(), /\(TIMEOUT\)\n$/);
  else t.equal(listen.stderr().split('\n').filter((l) => l !== '').length, 1, 'one stderr line');
  const { ids: first, cut } = linesOf(t, listen.stdout());
  t.ok(first.length < MESSAGES, `the first listen printed ${first.length} whole`);
  const rest = sent.filter((id) => !first.includes(id));

  const next = await hushwire(['listen', '--profile', b, '--count', String(rest.length), '--timeout', '60'], { timeoutMs: 90_000 });
  t.equal(next.code, 0, `the second listen gets every message the first did not print whole (stderr: ${next.stderr})`);
  const { ids: second, cut: none } = linesOf(t, next.stdout);
  t.equal(none, '', 'the second listen\'s lines are whole');
  t.same([...second].sort(), [...rest].sort(), 'the given-back message and those not yet taken, each once: none lost, none acknowledged unprinted');
  t.same([...first, ...second].sort(), [...sent].sort(), 'every message printed whole by one of the two');
  // The pipe took part of the abandoned line before it filled: that message came again whole.
  const cutId = /^\{"id":"([^"]+)"/.exec(cut)?.[1];
  if (cut !== '') t.ok(cutId !== undefined && second.includes(cutId), `the message cut in the pipe (${cut.length} bytes of it) came again whole`);
}

t.test('listen --timeout with its stdout reader stalled exits 3 and keeps the message it was writing', (t) => stopStalled(t, 'timeout'));
t.test('listen stopped by SIGTERM with its stdout reader stalled exits 0 and keeps the message it was writing', (t) => stopStalled(t, 'SIGTERM'));

t.test('listen stopped with its stdout stalled that cannot give the message back either says it will not come again', async (t) => {
  // The profile cannot be written (a full disk): the message stays recorded as shown. A
  // stop used to swallow that error (exit 0, nothing said); it is the lost-message line.
  const { b, listen, ended } = await stalledListen(t, []);
  const statePath = join(b, 'state.json');
  rmSync(statePath);
  mkdirSync(join(statePath, 'x'), { recursive: true });
  listen.proc.kill('SIGTERM');
  const code = await within(ended, 30_000, 'listen ending after SIGTERM with its stdout stalled');
  listen.proc.stdout!.resume();
  await within(listen.exited, 30_000, 'listen\'s pipes draining');
  t.equal(code, 1, `exit 1: the message could not be given back (stderr: ${listen.stderr()})`);
  t.match(listen.stderr(), /warning: profile: /);
  t.match(listen.stderr(), /stdout did not take the last message in time, and it could not be forgotten in the profile either.*the next listen will not show it.*\(INTERNAL\)\n$/);
  t.notMatch(listen.stderr(), /kept for the next listen/);
});
