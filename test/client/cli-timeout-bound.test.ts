// `--timeout` of listen and send is bounded by what a timer can wait (2^31 - 1 ms, 24.8
// days): a longer one fired after 1 ms, so `listen --timeout 3000000` (a "wait for a
// month" a user may well type) ended at once with "no gateway answered within --timeout
// 3000000 s" (exit 5) and Node's TimeoutOverflowWarning, and `send --timeout 3000000`
// was refused in the SDK's words ("option sendTimeoutMs must be at most ..."). Both are
// now usage errors naming --timeout and its most (exit 2).
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hushwire, errorLineProblems, cliProfiles, cliFailure } from '../helpers/cli.ts';
import { silentGateway, useGateways, opHoldingProxy } from '../helpers/unanswering-gateways.ts';
import { formatError, exitCodeFor } from '../../cli/errors.ts';

t.setTimeout(120_000);

t.test('a --timeout past the longest timer is a usage error naming the option', async (t) => {
  const p = ['--profile', '/nonexistent-hw-timeout'];
  for (const argv of [['listen', ...p], ['send', ...p, '--to', '+15550000277', 'x']]) {
    for (const v of ['2147484', '3000000', '1e12']) {
      const e = await cliFailure([...argv, '--timeout', v]);
      t.equal(formatError(e), `hushwire: option '--timeout <seconds>' argument '${v}' is invalid. must be at most 2147483 seconds (24.8 days, the longest a timer waits) (BAD_REQUEST)`, `${argv[0]} --timeout ${v}`);
      t.equal(exitCodeFor(e), 2);
    }
    // The most is taken: the command goes on to the profile (which does not exist).
    t.match(formatError(await cliFailure([...argv, '--timeout', '2147483'])), /no profile at \/nonexistent-hw-timeout/, `${argv[0]} --timeout 2147483 is accepted`);
  }
});

t.test('listen --timeout 3000000 on a real profile: exit 2 at once, not "no gateway answered" (exit 5)', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, ['+15550100281', '+15550100282'], 'hw-cli-timeout-');
  const r = await hushwire(['listen', '--profile', a!, '--timeout', '3000000']);
  t.equal(r.code, 2, r.stderr);
  t.same(errorLineProblems(r, 'BAD_REQUEST'), []);
  t.match(r.stderr, /--timeout/);
  t.notMatch(r.stderr, /TimeoutOverflowWarning|no gateway answered/);
  t.equal(r.stdout, '');

  const s = await hushwire(['send', '--profile', a!, '--to', '+15550100282', '--timeout', '3000000', 'hi']);
  t.equal(s.code, 2, s.stderr);
  t.same(errorLineProblems(s, 'BAD_REQUEST'), []);
  t.match(s.stderr, /'--timeout <seconds>'/, 'names the option, not sendTimeoutMs');
  t.notMatch(s.stderr, /sendTimeoutMs/);
});

t.test('send --timeout bounds the connect too: a gateway that takes the connection and never answers', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, ['+15550100283', '+15550100284'], 'hw-cli-timeout-hung-');
  // Accepts TCP and says nothing (a hung gateway, or a proxy with no backend): each
  // connect attempt of the SDK waits its 5 s for the challenge, and the first connect
  // made 3 of them whatever --timeout said.
  const { url, sockets } = await silentGateway(t);
  useGateways(a!, [url]);

  const r = await hushwire(['send', '--profile', a!, '--to', '+15550100284', '--timeout', '1', 'hi']);
  t.equal(r.code, 5, r.stderr);
  t.same(errorLineProblems(r, 'UNAVAILABLE'), []);
  t.match(r.stderr, /no gateway answered within --timeout 1 s, nothing was sent/, 'ended by its --timeout, not by the SDK\'s connect attempts');
  t.equal(r.stdout, '');
  t.ok(sockets.size >= 1, 'it did try the gateway');

  const heard = await hushwire(['listen', '--profile', b!, '--timeout', '2']);
  t.equal(heard.code, 3, heard.stderr);
  t.equal(heard.stdout, '', 'nothing was sent');
});

// discover, safety-number, verify-contact, accept-keys, rotate-prekey and unregister had
// no --timeout: against a gateway that takes the connection and never answers they gave
// up only after the SDK's 3 first-connect attempts (~17 s). They take the same option now.
const SAFETY_DIGITS = Array.from({ length: 12 }, () => '00000').join(' ');
const connectingCommands = (to: string): string[][] => [
  ['discover', to],
  ['safety-number', '--to', to],
  ['verify-contact', '--to', to, SAFETY_DIGITS],
  ['accept-keys', '--to', to],
  ['rotate-prekey'],
  ['unregister'],
];

t.test('the other connecting commands: a --timeout past the longest timer is a usage error naming the option', async (t) => {
  const p = ['--profile', '/nonexistent-hw-timeout'];
  for (const [cmd, ...rest] of connectingCommands('+15550000277')) {
    const argv = [cmd!, ...p, ...rest];
    for (const v of ['2147484', '0', 'soon']) {
      const e = await cliFailure([...argv, '--timeout', v]);
      t.match(formatError(e), /^hushwire: option '--timeout <seconds>' argument '[^']*' is invalid\. must be (at most 2147483 seconds|a positive number of seconds)/, `${cmd} --timeout ${v}`);
      t.equal(exitCodeFor(e), 2, `${cmd} --timeout ${v}: exit 2`);
    }
    t.match(formatError(await cliFailure([...argv, '--timeout', '2147483'])), /no profile at \/nonexistent-hw-timeout/, `${cmd} --timeout 2147483 is accepted`);
  }
});

t.test('discover, safety-number, verify-contact, accept-keys, rotate-prekey, unregister: --timeout bounds the connect to a gateway that never answers', async (t) => {
  const { profiles: [a] } = await cliProfiles(t, ['+15550100285', '+15550100286'], 'hw-cli-timeout-hung2-');
  const { url, sockets } = await silentGateway(t);
  useGateways(a!, [url]);

  for (const [cmd, ...rest] of connectingCommands('+15550100286')) {
    const before = sockets.size;
    // Well under the SDK's ~17 s of attempts: the run is killed (and the test fails) past it.
    const r = await hushwire([cmd!, '--profile', a!, ...rest, '--timeout', '2'], { timeoutMs: 12_000 });
    t.equal(r.code, 5, `${cmd}: ${r.stderr}`);
    t.same(errorLineProblems(r, 'UNAVAILABLE'), [], cmd);
    t.match(r.stderr, /no gateway answered within --timeout 2 s, /, `${cmd}: ended by its --timeout, not by the SDK's connect attempts`);
    t.notMatch(r.stderr, /no gateway reachable/, cmd);
    t.equal(r.stdout, '', cmd);
    t.ok(sockets.size > before, `${cmd} did try the gateway`);
  }
  t.ok(existsSync(join(a!, 'device.json')), 'the unregister that timed out left the profile registered');
});

t.test('discover --timeout bounds the lookups once connected too: a gateway whose OPRF evaluation never answers', async (t) => {
  const { gw, profiles: [a] } = await cliProfiles(t, ['+15550100287', '+15550100288'], 'hw-cli-timeout-op-');
  // Connected and authenticated as usual; the evaluation of the blinded numbers is held
  // until the test's end (the SDK's own request deadline is 10 s).
  const evaluator = gw.relay.evaluator;
  const original = evaluator.evaluate.bind(evaluator);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let held = 0;
  evaluator.evaluate = (async (...args: Parameters<typeof original>) => {
    held++;
    await gate;
    return original(...args);
  }) as typeof evaluator.evaluate;
  t.teardown(() => { release(); evaluator.evaluate = original; });

  const r = await hushwire(['discover', '--profile', a!, '+15550100288', '--timeout', '2'], { timeoutMs: 9_000 });
  t.equal(r.code, 3, r.stderr);
  t.same(errorLineProblems(r, 'TIMEOUT'), []);
  t.match(r.stderr, /the gateway did not answer within --timeout 2 s once connected, nothing was printed/);
  t.equal(r.stdout, '');
  t.ok(held >= 1, 'it was connected and asked');
});

t.test('safety-number, verify-contact, accept-keys, rotate-prekey, unregister: --timeout bounds the command once connected, at a gateway that never answers its op', async (t) => {
  const { gw, profiles: [a] } = await cliProfiles(t, ['+15550100289', '+15550100290'], 'hw-cli-timeout-op2-');
  // The profile connects and authenticates as usual through the proxy, which then
  // swallows every lookup, evaluation, prekey rotation and opt-out: never answered.
  const proxy = await opHoldingProxy(t, gw.url, ['lookup', 'evaluate', 'setPrekey', 'unregister']);
  useGateways(a!, [proxy.url]);
  const to = '+15550100290';
  const cases: [string[], string, string][] = [
    [['safety-number', '--to', to], 'lookup', 'no safety number was printed'],
    [['verify-contact', '--to', to, SAFETY_DIGITS], 'lookup', 'the contact may or may not have been marked verified'],
    [['accept-keys', '--to', to], 'lookup', 'the keys may or may not have been accepted'],
    [['rotate-prekey'], 'setPrekey', 'the gateway may or may not have taken the new prekey: it is kept and sent again by the next rotate-prekey, listen or send'],
    [['unregister'], 'unregister', 'the relay may or may not have erased this device, and the profile still holds it: run hushwire unregister again'],
  ];
  for (const [[cmd, ...rest], op, afterwards] of cases) {
    const before = proxy.held[op] ?? 0;
    // Well under the SDK's own 10 s request deadline: the run is killed (and the test
    // fails) past it.
    const r = await hushwire([cmd!, '--profile', a!, ...rest, '--timeout', '2'], { timeoutMs: 9_000 });
    t.equal(r.code, 3, `${cmd}: exit 3 (${r.stderr})`);
    t.same(errorLineProblems(r, 'TIMEOUT'), [], cmd);
    t.ok(r.stderr.startsWith(`hushwire: the gateway did not answer within --timeout 2 s once connected, ${afterwards}`), `${cmd}: ${r.stderr}`);
    t.equal(r.stdout, '', `${cmd}: nothing printed`);
    t.ok((proxy.held[op] ?? 0) > before, `${cmd}: it was connected and asked (${op})`);
    t.same(readdirSync(a!).filter((f) => f.endsWith('.lock')), [], `${cmd}: no lock left in the profile`);
  }
  t.ok(existsSync(join(a!, 'device.json')), 'the unregister that timed out left the profile registered');
  // The lock was let go: a command that takes it runs at once, against the gateway itself.
  useGateways(a!, [gw.url]);
  const rotated = await hushwire(['rotate-prekey', '--profile', a!, '--timeout', '10']);
  t.equal(rotated.code, 0, rotated.stderr);
  t.same(JSON.parse(rotated.stdout), { status: 'rotated' });
});
