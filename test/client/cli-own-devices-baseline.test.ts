// A second phone under the same number: its first `hushwire listen` looked at its own
// number, found the first phone listed, and said "your own number lists other devices
// now ... may have been taken over" about the user's own first phone, there before the
// second one registered. The devices listed at the first look are now the baseline
// (kept in keys.json), told to nobody; a device registered after it still warns, on
// every device that took its baseline before. Real gateway, the CLI as a user runs it.
import t from 'tap';
import { join } from 'node:path';
import { hushwire, cliProfiles } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

// ~110 s alone for its three tests (a dozen CLI runs each); more on a busy machine.
t.setTimeout(360_000);

const A = '+15550100371';
const listen = (profile: string) => hushwire(['listen', '--profile', profile, '--timeout', '4']);

t.test('a second device\'s first listen does not call the first phone a take-over; a third device later warns on both', async (t) => {
  const { gw, profiles: [a1] } = await cliProfiles(t, [A], 'hw-cli-ownbase-');
  const dir = tempDir('hw-cli-ownbase-more-');
  const first = await listen(a1!);
  t.notMatch(first.stderr, /notice/, `the first phone alone: nothing to tell (stderr: ${first.stderr})`);

  const a2 = join(dir, 'a2');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a2])).code, 0);
  const second = await listen(a2);
  t.notMatch(second.stderr, /taken over|other devices now/, `the second phone's first listen: the first phone is its baseline (stderr: ${second.stderr})`);
  const secondAgain = await listen(a2);
  t.notMatch(secondAgain.stderr, /notice/, `a restart does not tell the baseline again (stderr: ${secondAgain.stderr})`);

  // A third device, registered after both took their baseline: a take-over as far as
  // either can tell, so both warn (the own-number look, beside the gateway's notice).
  const a3 = join(dir, 'a3');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a3])).code, 0);
  const onSecond = await listen(a2);
  t.match(onSecond.stderr, /notice: your own number lists other devices now \(1 device\(s\) added\); if that was not you, your number may have been taken over/, 'the second phone warns of the third only (its baseline was kept)');
  const onFirst = await listen(a1!);
  // The first phone's baseline was itself alone: the second phone (never told to it,
  // its listen above being its first since) and the third are both added.
  t.match(onFirst.stderr, /notice: your own number lists other devices now \(2 device\(s\) added\); if that was not you, your number may have been taken over/, 'the first phone warns');
  const third = await listen(a3);
  t.notMatch(third.stderr, /taken over|other devices now/, `the third phone's first listen: the two before it are its baseline (stderr: ${third.stderr})`);
});

t.test('a first phone that never listened before the second registered still warns at its first listen (the gateway\'s notice came first); a device gone says "fewer devices", no alarm', async (t) => {
  const B = '+15550100372';
  const { gw, profiles: [b1] } = await cliProfiles(t, [B], 'hw-cli-ownbase2-');
  const b2 = join(tempDir('hw-cli-ownbase2-more-'), 'b2');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', B, '--profile', b2])).code, 0);
  const first = await listen(b1!);
  t.match(first.stderr, /notice: another device registered this number at/, 'the gateway\'s notice');
  t.match(first.stderr, /notice: your own number lists other devices now \(1 device\(s\) added\); if that was not you, your number may have been taken over/, 'b2 came after b1 registered: no silent baseline');
  t.equal((await hushwire(['unregister', '--profile', b2])).code, 0);
  const after = await listen(b1!);
  t.match(after.stderr, /notice: your own number lists fewer devices now \(1 device\(s\) gone/, 'a device gone is said');
  t.notMatch(after.stderr, /taken over/, `without the alarm (stderr: ${after.stderr})`);
});

t.test('a device registered between this one\'s registration and its first send is told at that send (the baseline was taken at registration); a legitimate second phone that sends first is still quiet', async (t) => {
  const C = '+15550100373';
  const D = '+15550100374';
  const { gw, profiles: [c1, d1] } = await cliProfiles(t, [C, D], 'hw-cli-ownbase3-');
  const dir = tempDir('hw-cli-ownbase3-more-');
  // An attacker registers C's number on another device before C's phone ever sent or
  // listened; the phone's first run is a send (send-only: the gateway's new_device
  // notice waits for a receiving connection). The baseline was taken at C's
  // registration (the phone alone), so the send already tells the attacker's device,
  // notice or not; the listen then shows the gateway's notice and tells nothing again.
  const evil = join(dir, 'evil');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', C, '--profile', evil])).code, 0);
  const sent = await hushwire(['send', '--profile', c1!, '--to', D, 'hello']);
  t.equal(sent.code, 0, `sent (stderr: ${sent.stderr})`);
  t.match(sent.stderr, /notice: your own number lists other devices now \(1 device\(s\) added\); if that was not you, your number may have been taken over/, `the send compares with the baseline taken at registration: it warns of the device registered after this one (stderr: ${sent.stderr})`);
  const first = await listen(c1!);
  t.match(first.stderr, /notice: another device registered this number at/, `the listen shows the gateway's notice (stderr: ${first.stderr})`);

  // D's own second phone: D's first phone listened (its baseline), then the second phone
  // registers and sends before it ever listens. Its first listen has no notice (no
  // device came after it): the first phone is its baseline, no alarm.
  const d1First = await listen(d1!);
  t.notMatch(d1First.stderr, /taken over|other devices now/, 'the first phone alone: its baseline');
  const d2 = join(dir, 'd2');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', D, '--profile', d2])).code, 0);
  t.equal((await hushwire(['send', '--profile', d2, '--to', C, 'from the second phone'])).code, 0);
  const second = await listen(d2);
  t.notMatch(second.stderr, /taken over|other devices now/, `the second phone's first listen after a send: quiet (stderr: ${second.stderr})`);
});
