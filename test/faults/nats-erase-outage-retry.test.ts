// Fault, the handset's side of test/faults/nats-erase-outage.test.ts: an opt-out through
// the real SDK whose directory delete loses its erase to a NATS outage that outlasts the
// gateway's wait (set-up and stall as there: the empty revision lands, its erase held at
// the TCP proxy, the connection cut and kept down past the 300 ms grace). The opt-out
// fails UNAVAILABLE with the device already out of the directory. Before, the user's
// retry (`hushwire unregister --profile DIR`, or unregister() again) was refused with a
// bare "authentication failed" and nothing said the opt-out had most likely gone
// through. Now the profile remembers the opt-out sent without an answer (device.json's
// `optOut`), and the retry is told so (AUTH_FAILED with optOutUnconfirmed; the CLI in a
// user's words, with --forget-locally as the way out, exit 6), deleting nothing; the
// forget then works, and the sweep finishes the relay's side. No timing is asserted.
import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, ErrorCode, type HushwireError } from '../../client/index.ts';
import { readDevice } from '../../client/profile-data.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { until } from '../helpers/poll.ts';
import { proxiedGateway, cutPastGrace, holdDeleteErase } from '../helpers/proxied-gateway.ts';
import { hushwire } from '../helpers/cli.ts';
import { registerHandset, freshNumber } from '../helpers/handsets.ts';
import { routeTag } from '../../relay/tokens.ts';

t.setTimeout(180_000);

const PREFIX = 'eraseoutageretry';
const LONG_MS = 600_000;
const GRACE_MS = 300;

t.test('an opt-out answered UNAVAILABLE after the device left the directory: the retry says the opt-out most likely went through, deletes nothing, and the way out works', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX, { graceMs: GRACE_MS });
  const h = await registerHandset([g.url], freshNumber());
  const profile = await readDevice(new DirectoryStore(h.profileDir));
  const tag = routeTag(profile.route);

  // The SDK's opt-out, its request deadline beyond the test: the gateway's answer decides.
  const c = await HushwireClient.open(h.profileDir, { receive: false, prekeyRotationMs: 0, requestTimeoutMs: LONG_MS });
  t.teardown(() => c.close());
  await c.connect();
  const held = holdDeleteErase(t, g, proxy, tag);
  const optingOut = c.unregister().then(() => null, (e: unknown) => e as HushwireError);
  await held;
  await cutPastGrace(g, proxy);
  proxy.holdFrom(null);
  const failed = await optingOut; // kept down until the opt-out gave up
  await proxy.open();
  t.equal(failed?.code, ErrorCode.UNAVAILABLE, 'the opt-out fails UNAVAILABLE (its outcome unknown at the relay)');
  await c.close();
  await until('reconnected', () => g.bus.status().state === 'connected', 20_000);
  t.equal((await direct.bus.directoryGet(tag, { fromLeader: true }))?.value.length, 0, 'while the device is out of the directory already');

  const marker = (JSON.parse(readFileSync(join(h.profileDir, 'device.json'), 'utf8')) as { optOut?: Record<string, unknown> }).optOut;
  t.same(Object.keys(marker ?? {}).sort(), ['endedAt', 'sentAt'], 'the profile remembers an opt-out sent without an answer (two times, nothing else)');

  // The user runs it again.
  const retry = await hushwire(['unregister', '--profile', h.profileDir]);
  t.equal(retry.code, 6, `exit 6, AUTH_FAILED (stderr: ${retry.stderr.trim()})`);
  t.match(retry.stderr, /the relay no longer accepts this profile's device: the opt-out begun earlier from this profile got no answer .*most likely went through/, 'says what most likely happened (before: a bare "authentication failed")');
  t.match(retry.stderr, /erasing the device's directory entry and queued mail by itself/);
  t.match(retry.stderr, /hushwire unregister --profile DIR --forget-locally/, 'and what to do');
  t.notMatch(retry.stderr, new RegExp(profile.number.replace('+', '\\+')), 'no number in it');
  t.equal(retry.stdout, '', 'nothing printed as done');
  t.ok(existsSync(join(h.profileDir, 'device.json')), 'nothing deleted by the retry: the forget is the user\'s to ask for');

  // The SDK's retry: the same, to the app.
  const again = await HushwireClient.open(h.profileDir, { receive: false, prekeyRotationMs: 0 });
  t.teardown(() => again.close());
  const refused = await again.unregister().then(() => null, (e: unknown) => e as HushwireError);
  t.equal(refused?.code, ErrorCode.AUTH_FAILED, 'unregister() again: AUTH_FAILED');
  t.equal(refused?.optOutUnconfirmed, true, 'with optOutUnconfirmed');
  await again.close();

  const forget = await hushwire(['unregister', '--profile', h.profileDir, '--forget-locally']);
  t.equal(forget.code, 0, forget.stderr);
  t.same(JSON.parse(forget.stdout), { status: 'forgotten locally' });
  t.notOk(existsSync(join(h.profileDir, 'device.json')), 'the device record is gone');

  await g.relay.privacy.sweepIfLeader();
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'and the relay\'s sweep erased the route\'s entry');
});

t.test('the same opt-out made by hushwire unregister: its failure says the request was sent, and its retry says it most likely went through', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX, { graceMs: GRACE_MS });
  const h = await registerHandset([g.url], freshNumber());
  const profile = await readDevice(new DirectoryStore(h.profileDir));
  const tag = routeTag(profile.route);
  const held = holdDeleteErase(t, g, proxy, tag);
  // The CLI's connection goes to this process's gateway, whose bus the hold is on.
  const first = hushwire(['unregister', '--profile', h.profileDir], { timeoutMs: 120_000 });
  await held;
  await cutPastGrace(g, proxy);
  proxy.holdFrom(null);
  const failed = await first; // kept down until the opt-out gave up
  await proxy.open();
  t.equal(failed.code, 5, `exit 5, UNAVAILABLE (stderr: ${failed.stderr.trim()})`);
  t.match(failed.stderr, /the opt-out's request was sent, and the relay may have erased this device all the same: run hushwire unregister again \(it finishes the opt-out, or says that it went through\)/, 'says the request was sent (before: only the relay\'s "unavailable")');
  t.match(failed.stderr, /\(UNAVAILABLE\)\n$/);
  t.ok(existsSync(join(h.profileDir, 'device.json')), 'the profile kept');
  await until('reconnected', () => g.bus.status().state === 'connected', 20_000);

  const retry = await hushwire(['unregister', '--profile', h.profileDir]);
  t.equal(retry.code, 6, `exit 6 (stderr: ${retry.stderr.trim()})`);
  t.match(retry.stderr, /the opt-out begun earlier from this profile got no answer .*most likely went through.*--forget-locally/);
  t.ok(existsSync(join(h.profileDir, 'device.json')), 'nothing deleted by the retry');
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }).then((e) => e?.value.length), 0, 'the device out of the directory, its entry left for the sweep');
});
