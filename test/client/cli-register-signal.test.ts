// Ctrl-C (SIGINT) or SIGTERM during `hushwire register`, while the relay registers the
// device: the registration must not outlive the command with keys nobody holds. Before,
// the signal killed register between the relay's write of the device and the profile's
// write of its keys: the number stayed registered (discover: registered, 1 device) with
// a device no profile has, that senders seal to and nobody can unregister. Now register
// lets the request end, undoes it (unregister) and exits 130 (143 for SIGTERM).
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliProfiles, startHushwire, signalUntilInterrupted, discovered } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { within } from '../helpers/poll.ts';
import { atFirstCall } from '../helpers/bus-hooks.ts';

t.setTimeout(180_000);

const A = '+15550100081';

async function signalDuringRegister(t: Test, signal: 'SIGINT' | 'SIGTERM', number: string): Promise<void> {
  const { gw, profiles: [a] } = await cliProfiles(t, [A], 'hw-cli-regsig-');
  const profile = join(tempDir('hw-cli-regsig-new-'), 'p');
  // Without tap's NODE_OPTIONS (its --import adds signal listeners to every child, which
  // changes how a signal ends it).
  const run = startHushwire(t, ['register', '--gateway', gw.url, '--number', number, '--profile', profile], { withoutTapHooks: true });

  // The relay's first directory write while register runs is the new device's: the
  // signal comes then, and the write goes on once register has ended or said it stops.
  const write = atFirstCall(t, gw.bus, 'directoryPut', () => signalUntilInterrupted(run, signal));

  const code = await within(run.exited, 60_000, `register ending after ${signal}`);
  t.ok(write.hooked, 'the signal came while the relay registered the device');
  t.equal(code, signal === 'SIGINT' ? 130 : 143, `exit ${signal === 'SIGINT' ? 130 : 143} (stderr: ${run.stderr()})`);
  t.equal(run.stdout(), '', 'nothing printed as registered');
  t.match(run.stderr(), /the registration was undone/);
  t.notOk(existsSync(join(profile, 'device.json')), 'the profile holds no device');
  t.same(await discovered(t, a!, number), { number, registered: false, devices: 0 }, 'and the relay lists no device under the number');
}

t.test('SIGINT while the relay registers the device: undone, exit 130', (t) => signalDuringRegister(t, 'SIGINT', '+15550100082'));
t.test('SIGTERM while the relay registers the device: undone, exit 143', (t) => signalDuringRegister(t, 'SIGTERM', '+15550100083'));
