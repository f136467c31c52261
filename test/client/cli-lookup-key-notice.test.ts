// A contact's key change found by safety-number (or discover) is said on stderr, as send
// and listen say theirs. The key book tells a change once: before, one that such a
// lookup found (an unverified contact's new device) was told to nobody, and the next
// send said nothing either.
import t from 'tap';
import { join } from 'node:path';
import { hushwire, cliProfiles } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(180_000);

const A = '+15550100351';
const B = '+15550100352';

t.test('safety-number tells a new device of a known contact, once', async (t) => {
  const { gw, profiles: [a] } = await cliProfiles(t, [A, B], 'hw-cli-lookupnotice-');
  const first = await hushwire(['send', '--profile', a!, '--to', B, 'first use']);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stderr, '', 'first use: nothing to tell');
  // B registers a second phone.
  const b2 = join(tempDir('hw-cli-lookupnotice-b2-'), 'b2');
  const reg = await hushwire(['register', '--gateway', gw.url, '--number', B, '--profile', b2]);
  t.equal(reg.code, 0, reg.stderr);

  const sn = await hushwire(['safety-number', '--profile', a!, '--to', B]);
  t.equal(sn.code, 0, sn.stderr);
  t.match(JSON.parse(sn.stdout), { status: 'unverified', devices: 2 });
  t.equal(sn.stderr, `notice: the keys of ${B} changed (1 device(s) added)\n`, 'the change is said');

  const sent = await hushwire(['send', '--profile', a!, '--to', B, 'after']);
  t.equal(sent.code, 0, sent.stderr);
  t.equal(sent.stderr, '', 'told once');
});
