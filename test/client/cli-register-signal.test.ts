// Ctrl-C (SIGINT) or SIGTERM during `hushwire register`, while the relay registers the
// device: the registration must not outlive the command with keys nobody holds. Before,
// the signal killed register between the relay's write of the device and the profile's
// write of its keys: the number stayed registered (discover: registered, 1 device) with
// a device no profile has, that senders seal to and nobody can unregister. Now register
// lets the request end, undoes it (unregister) and exits 130 (143 for SIGTERM).
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, cliProfiles } from '../helpers/cli.ts';
import { BIN, ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/temp.ts';
import { within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const A = '+15550100081';

async function signalDuringRegister(t: Test, signal: 'SIGINT' | 'SIGTERM', number: string): Promise<void> {
  const { gw, profiles: [a] } = await cliProfiles(t, [A], 'hw-cli-regsig-');
  const profile = join(tempDir('hw-cli-regsig-new-'), 'p');
  // Without tap's NODE_OPTIONS (its --import adds signal listeners to every child, which
  // changes how a signal ends it): a shell drops it before the CLI starts.
  const env = { ...process.env };
  delete env.HUSHWIRE_PROFILE;
  const proc = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, BIN,
    'register', '--gateway', gw.url, '--number', number, '--profile', profile], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));

  // The relay's first directory write while register runs is the new device's: the
  // signal comes then, and the write goes on once register has ended or said it stops.
  const bus = gw.bus;
  const original = bus.directoryPut.bind(bus);
  let hooked = false;
  bus.directoryPut = async (tag, value, rev) => {
    if (!hooked) {
      hooked = true;
      proc.kill(signal);
      await Promise.race([exited, new Promise<void>((resolve) => {
        const check = () => (stderr.includes('interrupted') || proc.exitCode !== null || proc.signalCode !== null ? resolve() : setTimeout(check, 20));
        check();
      })]);
    }
    return original(tag, value, rev);
  };
  t.teardown(() => { bus.directoryPut = original; });

  const code = await within(exited, 60_000, `register ending after ${signal}`);
  t.ok(hooked, 'the signal came while the relay registered the device');
  t.equal(code, signal === 'SIGINT' ? 130 : 143, `exit ${signal === 'SIGINT' ? 130 : 143} (stderr: ${stderr})`);
  t.equal(stdout, '', 'nothing printed as registered');
  t.match(stderr, /the registration was undone/);
  t.notOk(existsSync(join(profile, 'device.json')), 'the profile holds no device');
  const found = await hushwire(['discover', '--profile', a!, number]);
  t.equal(found.code, 0, found.stderr);
  t.same(JSON.parse(found.stdout), { number, registered: false, devices: 0 }, 'and the relay lists no device under the number');
}

t.test('SIGINT while the relay registers the device: undone, exit 130', (t) => signalDuringRegister(t, 'SIGINT', '+15550100082'));
t.test('SIGTERM while the relay registers the device: undone, exit 143', (t) => signalDuringRegister(t, 'SIGTERM', '+15550100083'));
