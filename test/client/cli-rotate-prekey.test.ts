// `hushwire rotate-prekey` as a user runs it (child processes against a real gateway):
// it replaces the profile's prekey and keeps the old one (device.json, still 0600), mail
// queued before it still reaches `listen`; a second one within the gateway's interval
// exits 5 (RATE_LIMITED) with its new key kept pending; an unregistered profile exits 4.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, errorLineProblems, cliProfiles } from '../helpers/cli.ts';

t.setTimeout(300_000);

const A = '+15550100071';
const B = '+15550100072';

function device(profile: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(profile, 'device.json'), 'utf8')) as Record<string, unknown>;
}

t.test('rotate-prekey: rotated, old mail still opens, a second one too soon exits 5, unregistered exits 4', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-rotate-');
  const sent = await hushwire(['send', '--profile', a, '--to', B, 'sealed to the old prekey']);
  t.equal(sent.code, 0, sent.stderr);
  const before = device(b);

  const rot = await hushwire(['rotate-prekey', '--profile', b]);
  t.equal(rot.code, 0, rot.stderr);
  t.same(JSON.parse(rot.stdout), { status: 'rotated' });
  const after = device(b);
  t.not(after.prekeyPublic, before.prekeyPublic, 'a new prekey');
  t.same((after.retiredPrekeys as { public: string }[]).map((r) => r.public), [before.prekeyPublic], 'the old one kept as retired');
  t.equal(statSync(join(b, 'device.json')).mode & 0o777, 0o600, 'device.json still 0600');

  const sent2 = await hushwire(['send', '--profile', a, '--to', B, 'sealed to the new prekey']);
  t.equal(sent2.code, 0, sent2.stderr);
  const heard = await hushwire(['listen', '--profile', b, '--count', '2', '--timeout', '15']);
  t.equal(heard.code, 0, heard.stderr);
  t.same(heard.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text).sort(), ['sealed to the new prekey', 'sealed to the old prekey']);

  const again = await hushwire(['rotate-prekey', '--profile', b]);
  t.equal(again.code, 5, 'a second rotation within 15 minutes: exit 5');
  t.same(errorLineProblems(again, 'RATE_LIMITED'), [], 'one clean RATE_LIMITED line');
  // It says when to try again (the gateway's retry_after_ms) and that the key is kept,
  // not only "prekey rotated too recently".
  t.match(again.stderr, /the new key is kept and sent again by the next rotate-prekey, listen or send; try again in (1[0-5]|[1-9]) min \(RATE_LIMITED\)\n$/);
  t.ok(device(b).pendingPrekey, 'its new key kept as pending');

  const un = await hushwire(['unregister', '--profile', b]);
  t.equal(un.code, 0, un.stderr);
  const gone = await hushwire(['rotate-prekey', '--profile', b]);
  t.equal(gone.code, 4, 'an unregistered profile: exit 4');

  const help = await hushwire(['--help']);
  t.match(help.stdout, /\n  rotate-prekey\b/, 'listed in --help');
});
