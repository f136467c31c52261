// Ctrl-C (SIGINT) or SIGTERM during `hushwire unregister`, once the relay is erasing the
// device: before, the signal ended unregister there (proper-lockfile's signal-exit,
// loaded for the profile's lock, re-raised it), after the relay's erase and before the
// profile's files were deleted, so device.json stayed and the profile looked registered
// with a device the relay no longer knows. Now the opt-out under way finishes, its result
// is printed, and unregister exits 130 (143 for SIGTERM).
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles, startHushwire, signalUntilInterrupted, discovered } from '../helpers/cli.ts';
import { within } from '../helpers/poll.ts';
import { atFirstCall } from '../helpers/bus-hooks.ts';

t.setTimeout(180_000);

const B = '+15550100191';

async function signalDuringUnregister(t: Test, signal: 'SIGINT' | 'SIGTERM', number: string): Promise<void> {
  const { gw, profiles: [a, b] } = await cliProfiles(t, [number, B], 'hw-cli-unregsig-');
  // Without tap's NODE_OPTIONS (its --import adds signal listeners to every child, which
  // changes how a signal ends it).
  const run = startHushwire(t, ['unregister', '--profile', a!], { withoutTapHooks: true });
  // The relay removes the route's only device from the directory (its mail was erased
  // just before): the signal comes then, and the removal goes on once unregister has
  // ended or said it goes on. (Set in the turn unregister was started in: before it
  // can have reached the relay.)
  const erase = atFirstCall(t, gw.bus, 'directoryDelete', () => signalUntilInterrupted(run, signal));

  const code = await within(run.exited, 60_000, `unregister ending after ${signal}`);
  t.ok(erase.hooked, 'the signal came while the relay removed the device');
  t.equal(code, signal === 'SIGINT' ? 130 : 143, `exit ${signal === 'SIGINT' ? 130 : 143} (stderr: ${run.stderr()})`);
  t.same(run.stdout().trim() === '' ? null : JSON.parse(run.stdout()), { status: 'unregistered' }, 'the opt-out\'s result is printed');
  t.match(run.stderr(), /the opt-out was finished first/);
  t.notOk(existsSync(join(a!, 'device.json')), 'the profile holds no device');
  t.notOk(existsSync(join(a!, 'profile.lock')), 'nor its lock');
  t.same(await discovered(t, b!, number), { number, registered: false, devices: 0 }, 'and the relay lists no device under the number');
  const again = await hushwire(['send', '--profile', a!, '--to', B, 'x']);
  t.equal(again.code, 4, 'the profile says it is not registered');
}

t.test('SIGINT while the relay erases the device: the opt-out finishes, exit 130', (t) => signalDuringUnregister(t, 'SIGINT', '+15550100192'));
t.test('SIGTERM while the relay erases the device: the opt-out finishes, exit 143', (t) => signalDuringUnregister(t, 'SIGTERM', '+15550100193'));
