// A profile whose device the relay no longer knows (unregistered from a copy of the
// profile, a backup restored after an unregister, a device swept at the relay): the
// relay answers only "authentication failed" (it says nothing of who is registered), and
// the CLI printed just that, "hushwire: authentication failed (AUTH_FAILED)", which
// names neither the cause nor a way out. Now the line says what it likely means and
// what to do (unregister --forget-locally, then register again).
import t from 'tap';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles, errorLineProblems } from '../helpers/cli.ts';

t.setTimeout(120_000);

const A = '+15550100091';
const B = '+15550100092';

t.test('a device the relay no longer knows: AUTH_FAILED says what to do', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-authfail-');
  const copy = join(a!, '..', 'a-copy');
  cpSync(a!, copy, { recursive: true });
  const gone = await hushwire(['unregister', '--profile', a!]);
  t.equal(gone.code, 0, gone.stderr);

  for (const argv of [['send', '--profile', copy, '--to', B, 'x'], ['listen', '--profile', copy, '--timeout', '20'], ['rotate-prekey', '--profile', copy]]) {
    const r = await hushwire(argv);
    t.equal(r.code, 6, `${argv[0]}: exit 6 (stderr: ${r.stderr})`);
    t.same(errorLineProblems(r, 'AUTH_FAILED'), [], argv[0]);
    t.match(r.stderr, /does not accept this profile's device.*unregister --profile DIR --forget-locally/, `${argv[0]}: says what to do`);
    t.notMatch(r.stderr, A.slice(1), 'no number in it');
  }
  const forgotten = await hushwire(['unregister', '--profile', copy, '--forget-locally']);
  t.equal(forgotten.code, 0, forgotten.stderr);
  t.ok(b, 'the other profile is untouched');
});

// A dev gateway that restarted (the embedded bus's OPRF key lives only as long as the
// process), or another deployment: the pinned key does not match. The line said
// "`hushwire unregister --forget-locally` removes it", a command that fails as given
// (no --profile) and left out that the number must then be registered again.
t.test('a gateway with another OPRF key: the way out is a command that runs as given', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, [A], 'hw-cli-otherkey-');
  const { startTestGateway } = await import('../helpers/gateway.ts');
  const other = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => other.close());
  writeFileSync(join(a!, 'gateways.json'), JSON.stringify({ version: 1, gateways: [other.url] }), { mode: 0o600 });
  const r = await hushwire(['send', '--profile', a!, '--to', B, 'x']);
  t.equal(r.code, 6, r.stderr);
  t.same(errorLineProblems(r, 'AUTH_FAILED'), [], 'one line');
  t.match(r.stderr, /OPRF key does not match the pinned key/);
  t.match(r.stderr, /hushwire unregister --profile DIR --forget-locally, then register again/, 'the command with its --profile, and what comes after');
  t.notMatch(r.stderr, A.slice(1), 'no number in it');
});
