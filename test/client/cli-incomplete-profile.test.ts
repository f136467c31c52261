// A `hushwire register` killed (SIGKILL, a crash) before it asked for the code leaves the
// profile directory it made, empty but for the lock it held. Every later command then
// printed the SDK's words for a profile with no device, "not registered: the profile
// given (profileDir or store; the CLI's --profile) holds no device ...: register one with
// HushwireClient.register (the CLI: hushwire register), or give the profile a
// registration made", which speaks to a developer. Now the CLI says that the profile is
// not registered, why it may be, and the command that registers it; and a register into
// the same directory just works. The other NOT_REGISTERED errors about the profile's own
// device (gone meanwhile) are said in a user's words too (cli/errors.ts).
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles, errorLineProblems, startHushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { silentGateway } from '../helpers/unanswering-gateways.ts';
import { until, within } from '../helpers/poll.ts';
import { formatError } from '../../cli/errors.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

t.setTimeout(180_000);

const A = '+15550100181';
const B = '+15550100182';

t.test('a register killed before the code prompt: later commands say the profile is not registered and how to register; register again works', async (t) => {
  const { gw, profiles: [b] } = await cliProfiles(t, [B], 'hw-cli-incomplete-');
  // A gateway that accepts the connection and never answers: register waits there, with
  // its directory made and its lock held, before any code is asked for.
  const silent = await silentGateway(t);
  const profile = join(tempDir('hw-cli-incomplete-p-'), 'a');
  const reg = startHushwire(t, ['register', '--gateway', silent.url, '--number', A, '--profile', profile]);
  await until('register to hold the profile\'s lock', () => existsSync(join(profile, 'profile.lock')), 30_000);
  reg.proc.kill('SIGKILL');
  await within(reg.exited, 20_000, 'the killed register');
  t.notOk(existsSync(join(profile, 'device.json')), 'no device in the profile');

  const commands = [
    ['send', '--profile', profile, '--to', B, 'hi'],
    ['send', '--profile', profile, '--to', B, '-'],
    ['listen', '--profile', profile, '--count', '1', '--timeout', '5'],
    ['discover', '--profile', profile, B],
    ['rotate-prekey', '--profile', profile],
    ['safety-number', '--profile', profile, '--to', B],
    ['unregister', '--profile', profile],
    ['unregister', '--profile', profile, '--forget-locally'],
  ];
  for (const argv of commands) {
    const r = await hushwire(argv, { input: "text" });
    const what = argv.filter((x) => x !== profile).join(' ');
    t.equal(r.code, 4, `${what}: exit 4 (stderr: ${r.stderr})`);
    t.same(errorLineProblems(r, 'NOT_REGISTERED'), [], what);
    t.match(r.stderr, /this profile is not registered: it holds no device \(its registration did not finish, or it was unregistered\); register it with hushwire register --gateway URL --number NUMBER --profile DIR/, `${what}: says it in a user's words, with the way out`);
    t.notMatch(r.stderr, /HushwireClient|profileDir/, `${what}: no SDK names`);
    t.notMatch(r.stderr, A.slice(1), `${what}: no number`);
  }
  t.same(readdirSync(profile).filter((n) => n !== 'profile.lock'), [], 'none of them wrote anything into the profile');

  // A register into the same directory, at once (the killed one's lock goes stale by itself).
  const again = await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', profile]);
  t.equal(again.code, 0, `registered into the same directory (stderr: ${again.stderr})`);
  t.match(JSON.parse(again.stdout), { status: 'registered' });
  const sent = await hushwire(['send', '--profile', profile, '--to', B, 'registered now']);
  t.equal(sent.code, 0, sent.stderr);
  const heard = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '20']);
  t.equal(heard.code, 0, heard.stderr);
  t.equal(JSON.parse(heard.stdout).from, A);
});

t.test('the NOT_REGISTERED errors about the profile\'s own device are said in a user\'s words', async (t) => {
  const own = [
    'not registered: this profile no longer holds this device (opted out, or another device registered in it, meanwhile); nothing was kept',
    'not registered: this device has opted out',
    'not registered: the directory does not list this device with its key',
    'this device is no longer registered',
  ];
  for (const message of own) {
    const line = formatError(new HushwireError(ErrorCode.NOT_REGISTERED, message));
    t.match(line, /^hushwire: this profile's device is no longer registered \(.*\): if the profile still holds it, run hushwire unregister --profile DIR --forget-locally; then register again with hushwire register --gateway URL --number NUMBER --profile DIR \(NOT_REGISTERED\)$/, message);
  }
  // A contact's number, and the CLI's own lines, are a user's words already.
  const contact = 'that number is not registered with Hushwire (it never registered, or it opted out)';
  t.equal(formatError(new HushwireError(ErrorCode.NOT_REGISTERED, contact)), `hushwire: ${contact} (NOT_REGISTERED)`);
  t.equal(formatError(new HushwireError(ErrorCode.BAD_REQUEST, 'not registered: x')), 'hushwire: not registered: x (BAD_REQUEST)', 'only NOT_REGISTERED');
});
