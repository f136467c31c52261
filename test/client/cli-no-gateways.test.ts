// A registered profile whose gateways.json is gone (deleted, or left out of a copy):
// every command said the SDK's words, "pass the gateways to open (ClientOptions.gateways),
// or register the profile (HushwireClient.register, hushwire register)", which a CLI user
// can do neither of (no such option; register refuses a registered profile). The line
// now says what to restore.
import t from 'tap';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles, errorLineProblems } from '../helpers/cli.ts';

t.setTimeout(120_000);

t.test('no gateways.json: the line says to write it again, in the CLI\'s words', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, ['+15550100321', '+15550100322'], 'hw-cli-nogw-');
  unlinkSync(join(a!, 'gateways.json'));
  for (const argv of [['send', '--profile', a!, '--to', '+15550100322', 'hi'], ['listen', '--profile', a!, '--timeout', '5'], ['discover', '--profile', a!, '+15550100322']]) {
    const r = await hushwire(argv);
    t.equal(r.code, 2, `${argv[0]}: ${r.stderr}`);
    t.same(errorLineProblems(r, 'BAD_REQUEST'), []);
    t.match(r.stderr, /this profile has no gateway list \(its gateways\.json is missing\): write it again with the gateway URLs it was registered with, \{"version":1,"gateways":\["ws:\/\/HOST:PORT\/ws"\]\}/);
    t.notMatch(r.stderr, /ClientOptions|HushwireClient|profileDir/, 'no SDK names');
  }
});
