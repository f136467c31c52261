// `--profile ""` (a script's unset variable: --profile "$DIR"), or HUSHWIRE_PROFILE set
// empty: a usage error that says so (exit 2). Before: "no profile at : the directory does
// not exist" (NOT_REGISTERED, exit 4).
import t from 'tap';
import { cliFailure } from '../helpers/cli.ts';
import { formatError, exitCodeFor } from '../../cli/errors.ts';

t.test('an empty --profile is said so, exit 2, for every command that opens a profile', async (t) => {
  const p = ['--profile', ''];
  for (const argv of [['send', ...p, '--to', '+15550100331', 'x'], ['listen', ...p], ['discover', ...p, '+15550100331'], ['rotate-prekey', ...p], ['unregister', ...p], ['unregister', ...p, '--forget-locally'], ['safety-number', ...p, '--to', '+15550100331'], ['verify-contact', ...p, '--to', '+15550100331', '1'.repeat(60)], ['accept-keys', ...p, '--to', '+15550100331']]) {
    const e = await cliFailure(argv);
    t.equal(formatError(e), 'hushwire: --profile (or HUSHWIRE_PROFILE) is empty: give the profile directory that hushwire register made (BAD_REQUEST)', argv.join(' '));
    t.equal(exitCodeFor(e), 2);
  }
});

t.test('HUSHWIRE_PROFILE set empty: the same', async (t) => {
  const before = process.env.HUSHWIRE_PROFILE;
  process.env.HUSHWIRE_PROFILE = '';
  t.teardown(() => { if (before === undefined) delete process.env.HUSHWIRE_PROFILE; else process.env.HUSHWIRE_PROFILE = before; });
  const e = await cliFailure(['send', '--to', '+15550100331', 'x']);
  t.equal(formatError(e), 'hushwire: --profile (or HUSHWIRE_PROFILE) is empty: give the profile directory that hushwire register made (BAD_REQUEST)');
});
