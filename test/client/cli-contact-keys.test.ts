// safety-number, verify-contact and accept-keys as a user runs them (child processes
// against a real gateway): both phones print the same safety number; a wrong one exits 7
// and verifies nothing; once verified, a device written into the directory under the
// contact's number (what a malicious operator could do) makes `send` exit 7 with a
// notice on stderr and nothing sent, until accept-keys; listen prints senderKeys.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, errorLineProblems, cliProfiles } from '../helpers/cli.ts';
import { readDevice } from '../../client/profile-data.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { generateIdentity, sign, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';

t.setTimeout(300_000);

const A = '+15550100081';
const B = '+15550100082';

t.test('safety-number, verify-contact, a held send (exit 7), accept-keys', async (t) => {
  const { gw, profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-keys-');
  t.equal((await hushwire(['send', '--profile', a, '--to', B, 'first'])).code, 0);

  const sa = await hushwire(['safety-number', '--profile', a, '--to', B]);
  const sb = await hushwire(['safety-number', '--profile', b, '--to', A]);
  t.equal(sa.code, 0, sa.stderr);
  const na = JSON.parse(sa.stdout) as { safetyNumber: string; status: string; devices: number; ownDevices: number };
  t.match(na, { status: 'unverified', devices: 1, ownDevices: 1 });
  t.match(na.safetyNumber, /^(?:[0-9]{5} ){11}[0-9]{5}$/);
  t.equal(na.safetyNumber, (JSON.parse(sb.stdout) as { safetyNumber: string }).safetyNumber, 'the same on both phones');

  const wrong = await hushwire(['verify-contact', '--profile', a, '--to', B, '0'.repeat(60)]);
  t.equal(wrong.code, 7, 'a number that does not match: exit 7');
  t.same(errorLineProblems(wrong, 'IDENTITY_CHANGED'), []);
  t.match(wrong.stderr, /run hushwire safety-number again on both phones/, 'says what to run, not the SDK\'s function names');
  t.notMatch(wrong.stderr, /safetyNumber\(\)/);
  const ok = await hushwire(['verify-contact', '--profile', a, '--to', B, ...na.safetyNumber.split(' ')]);
  t.equal(ok.code, 0, ok.stderr);
  t.same(JSON.parse(ok.stdout), { status: 'verified' });

  // accept-keys with nothing changed: nothing to accept, and the verification stays (it
  // used to end it, printing "unverified").
  const noop = await hushwire(['accept-keys', '--profile', a, '--to', B]);
  t.equal(noop.code, 0, noop.stderr);
  t.same(JSON.parse(noop.stdout), { status: 'verified' });
  t.equal(noop.stderr, 'notice: nothing to accept: the keys listed for this contact are the ones you verified; it stays verified\n');
  const noopSn = await hushwire(['accept-keys', '--profile', a, '--to', B, '--safety-number', na.safetyNumber]);
  t.equal(noopSn.code, 0, noopSn.stderr);
  t.same(JSON.parse(noopSn.stdout), { status: 'verified' }, 'with the current safety number too');
  t.match(JSON.parse((await hushwire(['safety-number', '--profile', a, '--to', B])).stdout), { status: 'verified' }, 'still verified');
  const badSn = await hushwire(['accept-keys', '--profile', a, '--to', B, '--safety-number', '123']);
  t.equal(badSn.code, 2, 'a safety number that is not 60 digits: exit 2');
  t.same(errorLineProblems(badSn, 'BAD_REQUEST'), []);
  // The user's own number in --to: say what to give instead (it said only "this is your own").
  const own = await hushwire(['safety-number', '--profile', a, '--to', A]);
  t.equal(own.code, 2, 'own number: exit 2');
  t.same(errorLineProblems(own, 'BAD_REQUEST'), []);
  t.match(own.stderr, /this is your own number: give a contact's number \(--to in the CLI\)/, 'says what to give');

  // The operator lists a device of its own under B's number.
  const id = generateIdentity();
  const prekey = generateKeyPair().publicKey;
  await gw.relay.directory.upsertDevice(routeTag((await readDevice(new DirectoryStore(b))).route), {
    device: new Uint8Array(randomBytes(16)), identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)), registeredAtMs: Date.now(), lastSeenMs: Date.now(),
  });
  const held = await hushwire(['send', '--profile', a, '--to', B, 'secret']);
  t.equal(held.code, 7, 'held: exit 7');
  const lines = held.stderr.trim().split('\n');
  t.equal(lines.length, 2, held.stderr);
  t.match(lines[0], new RegExp(`^notice: the keys of \\${B} changed \\(1 device\\(s\\) added\\); sends to it are held`));
  t.same(errorLineProblems({ ...held, stderr: lines[1] + '\n' }, 'IDENTITY_CHANGED'), []);
  t.equal(held.stdout, '', 'nothing sent');
  t.match(lines[1], /nothing was sent: compare safety numbers again \(hushwire safety-number, then verify-contact\) or accept the new keys \(hushwire accept-keys\)/);
  const again = await hushwire(['send', '--profile', a, '--to', B, 'secret']);
  t.equal(again.code, 7, 'still held in a new process');

  const stale = await hushwire(['accept-keys', '--profile', a, '--to', B, '--safety-number', na.safetyNumber]);
  t.equal(stale.code, 7, 'accept-keys with the old safety number: exit 7, nothing accepted');
  t.same(errorLineProblems(stale, 'IDENTITY_CHANGED'), []);
  t.equal((await hushwire(['send', '--profile', a, '--to', B, 'secret'])).code, 7, 'still held');
  const acc = await hushwire(['accept-keys', '--profile', a, '--to', B, '--safety-number', (JSON.parse((await hushwire(['safety-number', '--profile', a, '--to', B])).stdout) as { safetyNumber: string }).safetyNumber]);
  t.equal(acc.code, 0, acc.stderr);
  t.same(JSON.parse(acc.stdout), { status: 'unverified' });
  t.equal((await hushwire(['send', '--profile', a, '--to', B, 'accepted'])).code, 0);

  t.equal((await hushwire(['send', '--profile', b, '--to', A, 'hi A'])).code, 0);
  const heard = await hushwire(['listen', '--profile', a, '--count', '1', '--timeout', '15']);
  t.equal(heard.code, 0, heard.stderr);
  t.match(JSON.parse(heard.stdout.trim()), { from: B, text: 'hi A', senderKeys: 'unverified' });

  // A damaged keys.json: said on stderr, and the command still works.
  writeFileSync(join(a!, 'keys.json'), '{"version":1,', { mode: 0o600 });
  const damaged = await hushwire(['safety-number', '--profile', a!, '--to', B]);
  t.equal(damaged.code, 0, damaged.stderr);
  t.match(damaged.stderr, /^warning: profile: keys\.json is damaged and was read as empty: contacts' keys start again from first use, and verified contacts must be verified again\n$/);

  const self = await hushwire(['safety-number', '--profile', a, '--to', A]);
  t.equal(self.code, 2, 'with oneself: a usage error');
  const help = await hushwire(['--help']);
  for (const c of ['safety-number', 'verify-contact', 'accept-keys']) t.match(help.stdout, new RegExp(`\\n  ${c}\\b`), `${c} in --help`);
  t.match(help.stdout, /\n  7  a contact's keys changed/);
});
