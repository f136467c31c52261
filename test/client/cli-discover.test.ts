// `hushwire discover` as a user runs it (child processes against a real gateway): one
// JSON line per distinct number, from arguments, a file or stdin; a bad number is named
// by its position, never quoted; the contacts found are remembered in the profile
// (routes.json, so a send to one afterwards evaluates nothing more; keys.json, so the
// sync is the first use of its keys and a device listed later is told at the next send).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hushwire, errorLineProblems, cliProfiles } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { readDevice } from '../../client/profile-data.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { generateIdentity, sign, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';

t.setTimeout(300_000);

const A = '+15550100091';
const B = '+15550100092';
const C = '+15550100093';
const NOBODY = '+15550100099';

const lines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { number: string; registered: boolean; devices: number });

t.test('discover: arguments, a file, stdin; bad numbers by position; what it finds is remembered', async (t) => {
  const { gw, profiles: [a, b] } = await cliProfiles(t, [A, B, C], 'hw-cli-discover-');

  const r = await hushwire(['discover', '--profile', a!, B, NOBODY, B]);
  t.equal(r.code, 0, r.stderr);
  t.same(lines(r.stdout), [{ number: B, registered: true, devices: 1 }, { number: NOBODY, registered: false, devices: 0 }], 'each distinct number once, in order');
  t.match(readFileSync(join(a!, 'routes.json'), 'utf8'), B, 'the route of a registered contact is kept');
  t.notMatch(readFileSync(join(a!, 'routes.json'), 'utf8'), NOBODY, 'not that of an unregistered number');
  t.match(readFileSync(join(a!, 'keys.json'), 'utf8'), B, 'its device keys as first seen');

  // The sync was the first use of B's keys: a device listed under B's number afterwards
  // (written straight into the directory) is a change at the first send.
  const id = generateIdentity();
  const prekey = generateKeyPair().publicKey;
  await gw.relay.directory.upsertDevice(routeTag((await readDevice(new DirectoryStore(b!))).route), {
    device: new Uint8Array(randomBytes(16)), identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)), registeredAtMs: Date.now(), lastSeenMs: Date.now(),
  });
  const sent = await hushwire(['send', '--profile', a!, '--to', B, 'after the sync']);
  t.equal(sent.code, 0, 'not verified: told, not held');
  t.match(sent.stderr, new RegExp(`^notice: the keys of \\${B} changed \\(1 device\\(s\\) added\\)`), 'the first send tells the device added since the sync');

  const file = join(tempDir('hw-cli-discover-f-'), 'numbers.txt');
  writeFileSync(file, `# my contacts\n${C}\n\n  ${NOBODY}  \r\n`);
  const f = await hushwire(['discover', '--profile', a!, '--file', file]);
  t.equal(f.code, 0, f.stderr);
  t.same(lines(f.stdout).map((x) => [x.number, x.registered]), [[C, true], [NOBODY, false]]);
  const s = await hushwire(['discover', '--profile', a!, '--file', '-'], { input: `${B}\n` });
  t.equal(s.code, 0, s.stderr);
  t.same(lines(s.stdout).map((x) => x.number), [B], 'from stdin');

  const bad = await hushwire(['discover', '--profile', a!, B, '12345']);
  t.equal(bad.code, 2);
  t.same(errorLineProblems(bad, 'BAD_NUMBER'), []);
  t.match(bad.stderr, /argument 2 is not a phone number/);
  t.notMatch(bad.stderr, /12345/, 'the bad input is not quoted');
  writeFileSync(file, `${B}\nnot a number\n`);
  const badFile = await hushwire(['discover', '--profile', a!, '--file', file]);
  t.equal(badFile.code, 2);
  t.match(badFile.stderr, /line 2 is not a phone number/);
  const none = await hushwire(['discover', '--profile', a!]);
  t.equal(none.code, 2, 'no numbers: a usage error');
  t.same(errorLineProblems(none, 'BAD_REQUEST'), []);
  const both = await hushwire(['discover', '--profile', a!, '--file', file, B]);
  t.equal(both.code, 2, 'arguments and --file: a usage error');
  // A --file that cannot be read: a usage error naming the option, not exit 1 "ENOENT: ...".
  for (const [path, why] of [[join(file, '..', 'missing.txt'), 'no such file'], [join(file, '..'), 'it is a directory']] as const) {
    const r = await hushwire(['discover', '--profile', a!, '--file', path]);
    t.equal(r.code, 2, why);
    t.same(errorLineProblems(r, 'BAD_REQUEST'), [], why);
    t.match(r.stderr, new RegExp(`cannot read the --file numbers file \\(${why}\\)`), why);
  }

  const help = await hushwire(['--help']);
  t.match(help.stdout, /\n  discover\b/, 'listed in --help');
});
