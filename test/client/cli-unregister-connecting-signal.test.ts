// Ctrl-C (SIGINT) during `hushwire unregister` while it is still connecting, at a gateway
// that takes the connection and never answers: nothing has been asked of the relay, so
// the signal ends it at once. Before, the connect was part of the SDK's unregister(),
// which the CLI holds signals for: it said "letting the opt-out under way finish", waited
// out the connect attempts (3 of 5 s) and ended with exit 5, nothing done.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliProfiles, startHushwire } from '../helpers/cli.ts';
import { silentGateway, useGateways } from '../helpers/unanswering-gateways.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(120_000);

t.test('SIGINT while unregister connects ends it at once, by the signal, the profile as it was', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, ['+15550100291'], 'hw-cli-unreg-connecting-');
  const { url, sockets } = await silentGateway(t);
  useGateways(a!, [url]);

  const run = startHushwire(t, ['unregister', '--profile', a!], { withoutTapHooks: true });
  await until('unregister to connect to the gateway', () => sockets.size > 0, 30_000);
  run.proc.kill('SIGINT');
  const code = await within(run.exited, 60_000, 'unregister ending after SIGINT');
  t.ok(code === 130 || (code === null && run.proc.signalCode === 'SIGINT'), `ended by SIGINT (code ${code}, signal ${run.proc.signalCode}, stderr: ${run.stderr()})`);
  t.notMatch(run.stderr(), /letting the opt-out under way finish/, 'no opt-out was under way');
  t.equal(run.stdout(), '');
  t.ok(existsSync(join(a!, 'device.json')), 'the profile keeps its device');
  t.notOk(existsSync(join(a!, 'profile.lock')), 'and no lock is left');
});
