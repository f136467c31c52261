// `hushwire listen | head -1`: a message listen could not print (its stdout's reader
// exited, EPIPE) must stay queued for the next listen. Before, the SDK acknowledged each
// message as it handed it over, so listen had acknowledged (and recorded as seen) the
// message it then failed to write, and it was gone. Also the SDK's manual acks that fix
// rests on: messages({ manualAck: true }), ack() and giveBack().
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, type ReceivedMessage } from '../../client/index.ts';
import { hushwire, cliProfiles, startHushwire } from '../helpers/cli.ts';
import { BIN, ROOT } from '../helpers/paths.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const A = '+15550100031';
const B = '+15550100032';

t.test('listen whose stdout reader exited keeps the message it could not print for the next listen', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-pipe-');
  // Bounded by --timeout; stdout is a pipe this test reads, then closes, as head -1 does.
  const listen = startHushwire(t, ['listen', '--profile', b!, '--timeout', '60']);
  const { proc: p, exited } = listen;

  const one = await hushwire(['send', '--profile', a!, '--to', B, 'one']);
  t.equal(one.code, 0, one.stderr);
  await until('listen printing the first message', () => listen.stdout().includes('\n'), 20_000);
  t.match(JSON.parse(listen.stdout().split('\n')[0]!), { text: 'one' });
  // The reader goes away: listen's next write fails with EPIPE.
  p.stdout!.destroy();

  const two = await hushwire(['send', '--profile', a!, '--to', B, 'two']);
  t.equal(two.code, 0, two.stderr);
  const code = await within(exited, 30_000, 'listen ending after its stdout closed');
  t.equal(code, 0, `listen exits 0 when its reader is gone (stderr: ${listen.stderr()})`);
  t.equal(listen.stderr(), '', 'and says nothing: the user ended it');

  const next = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '20']);
  t.equal(next.code, 0, `the message listen could not print is still queued (stderr: ${next.stderr})`);
  t.match(JSON.parse(next.stdout.trim()), { text: 'two', id: JSON.parse(two.stdout).id });
});

t.test('messages({ manualAck: true }): giveBack leaves a message for the next session, ack settles it', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const alice = await registerHandset([gw.url], A);
  const bob = await registerHandset([gw.url], B);
  const sender = await HushwireClient.open(alice.profileDir);
  t.teardown(() => sender.close());
  await sender.connect();

  /** Opens Bob's profile, takes one message with manual acks, lets `then` decide. */
  async function takeOne(then: (c: HushwireClient, m: ReceivedMessage) => Promise<void>): Promise<ReceivedMessage> {
    const c = await HushwireClient.open(bob.profileDir);
    try {
      await c.connect();
      const it = c.messages({ manualAck: true })[Symbol.asyncIterator]();
      const r = await within(it.next(), 20_000, 'a message');
      if (r.done) throw new Error('messages() ended');
      await then(c, r.value);
      return r.value;
    } finally {
      await c.close();
    }
  }

  const sent = await sender.send(B, 'kept');
  const first = await takeOne(async (c, m) => {
    t.equal(await c.giveBack(m), true, 'given back');
    t.equal(await c.giveBack(m), false, 'once');
    t.equal(c.ack(m), false, 'and no longer waits for an ack');
  });
  t.equal(first.id, sent.id);
  const again = await takeOne(async (c, m) => {
    t.equal(c.ack(m), true, 'acknowledged');
    t.equal(c.ack(m), false, 'once');
  });
  t.equal(again.id, sent.id, 'the message given back came again in the next session');
  const marker = await sender.send(B, 'marker');
  const after = await takeOne(async (c, m) => { c.ack(m); });
  t.equal(after.id, marker.id, 'the acknowledged message did not come again: the next one is the marker');

  // giveBack after close(): `hushwire listen` gives back a message whose write failed after
  // a signal or its --timeout had closed the client. Its write is still made.
  const late = await sender.send(B, 'given back after close');
  const closed = await HushwireClient.open(bob.profileDir);
  await closed.connect();
  const lateIt = closed.messages({ manualAck: true })[Symbol.asyncIterator]();
  const held = await within(lateIt.next(), 20_000, 'a message');
  t.equal(held.value?.id, late.id);
  await closed.close();
  t.equal(await closed.giveBack(held.value!), true, 'given back after close()');
  const back = await takeOne(async (c, m) => { c.ack(m); });
  t.equal(back.id, late.id, 'and shown in the next session');

  const c = await HushwireClient.open(bob.profileDir);
  t.teardown(() => c.close());
  t.throws(() => c.messages({ manualAck: 'yes' } as unknown as { manualAck: boolean }), { code: 'BAD_REQUEST' });
  t.throws(() => c.ack(null as unknown as ReceivedMessage), { code: 'BAD_REQUEST' });
  await t.rejects(c.giveBack({} as ReceivedMessage), { code: 'BAD_REQUEST' });
});

t.test('listen that can give back neither by stdout nor in the profile says the message will not come again', async (t) => {
  // A full disk under `listen > file` fails the stdout write and, the profile being on the
  // same disk, the write of state.json that gives the message back: listen said "it was
  // kept for the next listen" (EPIPE: exited 0 without a word) while the message stayed
  // recorded as shown, so the next listen dropped it.
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-pipe-');
  const listen = startHushwire(t, ['listen', '--profile', b!, '--timeout', '60']);
  const { proc: p, exited } = listen;
  const statePath = join(b!, 'state.json');
  const seenCount = (): number => {
    try {
      return (JSON.parse(readFileSync(statePath, 'utf8')) as { seen: string[] }).seen.length;
    } catch {
      return -1;
    }
  };

  const one = await hushwire(['send', '--profile', a!, '--to', B, 'one']);
  t.equal(one.code, 0, one.stderr);
  await until('listen printing the first message', () => listen.stdout().includes('\n'), 20_000);
  const seenBefore = seenCount();
  // This test stops reading: a line of ~390 kB (control characters are escaped as six
  // bytes in JSON) cannot be written whole into the pipe, so listen's write waits.
  p.stdout!.pause();
  const big = hushwire(['send', '--profile', a!, '--to', B, '\u0001'.repeat(65_000)], { timeoutMs: 60_000 });
  // Recorded as shown (state.json written) before it is handed to listen's write.
  await until('listen recording the second message', () => seenCount() > seenBefore, 30_000);
  // The profile can no longer be written: state.json is a directory now.
  rmSync(statePath);
  mkdirSync(join(statePath, 'x'), { recursive: true });
  p.stdout!.destroy(); // the write fails (EPIPE), and so does giving the message back
  const code = await within(exited, 30_000, 'listen ending after its stdout closed');
  t.equal((await big).code, 0);
  t.equal(code, 1, `exit 1: the message could not be given back (stderr: ${listen.stderr()})`);
  t.match(listen.stderr(), /could not write a message to stdout \(EPIPE\).*could not forget it in the profile either.*the next listen will not show it.*\(INTERNAL\)/);
  t.notMatch(listen.stderr(), /kept for the next listen/);
});

t.test('listen > /dev/full: the message it could not write is given back, exit 1', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-pipe-');
  const env = { ...process.env };
  delete env.HUSHWIRE_PROFILE;
  const full = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(full));
  const p = spawn(process.execPath, [BIN, 'listen', '--profile', b!, '--timeout', '60'], { cwd: ROOT, env, stdio: ['ignore', full, 'pipe'] });
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  let stderr = '';
  p.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
  const sent = await hushwire(['send', '--profile', a!, '--to', B, 'full']);
  t.equal(sent.code, 0, sent.stderr);
  t.equal(await within(exited, 30_000, 'listen ending at its failed write'), 1);
  t.match(stderr, /could not write a message to stdout \(ENOSPC\): it was kept for the next listen \(INTERNAL\)/);
  const next = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '20']);
  t.equal(next.code, 0, next.stderr);
  t.match(JSON.parse(next.stdout.trim()), { text: 'full', id: JSON.parse(sent.stdout).id });
});
