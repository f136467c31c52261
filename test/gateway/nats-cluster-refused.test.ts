// Credentials a 3-node NATS cluster refuses stop a gateway and `hushwire oprf` at start
// (exit 1, one line naming the flag), as on a single nats-server (nats-secure.test.ts).
//
// Before, they never started and never said why: nats.js drops a server that fails a
// first connect from its pool, but each cluster member's INFO, read before its -ERR,
// lists the other members again (cluster discovery), so the pool never emptied and the
// process dialled the nodes in turn without a pause (thousands of refused logins a
// second in nats-server's log) until killed. relay/nats-connect.ts now lets two
// refusals in a row end the first connect.
import t from 'tap';
import { haveNatsServer, startNatsCluster } from '../helpers/nats-server.ts';
import { oprfKeyFile } from '../helpers/gateway.ts';
import { hushwire } from '../helpers/cli.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';

t.setTimeout(180_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const file = privateFileWriter(tempDir('hw-cluster-refused-'));
  const password = 'right-Pa55-secret';

  t.test('a 3-node cluster refusing the credentials: gateway and evaluator exit 1 naming the flag', async (t) => {
    const c = await startNatsCluster(3, { t, extraConfig: `authorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    const nats = c.urls.join(',');
    const key = oprfKeyFile();
    // Bounded: a process that never stops is killed after 40 s (code null).
    const run = (args: string[]) => hushwire(args, { timeoutMs: 40_000 });

    const wrongPw = await run(['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', nats, '--oprf-key-file', key,
      '--nats-user', 'hwgw', '--nats-password-file', file('wrong.pw', 'wr0ng-secret\n')]);
    t.equal(wrongPw.code, 1, 'wrong password: exit 1');
    t.match(wrongPw.stderr, /^hushwire gateway: could not start: NATS refused the credentials in --nats-password-file \(authorization violation\)$/m);
    t.notOk((wrongPw.stdout + wrongPw.stderr).includes('wr0ng-secret'), 'the password is not printed');

    const none = await run(['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', nats, '--oprf-key-file', key]);
    t.equal(none.code, 1, 'no credentials: exit 1');
    t.match(none.stderr, /^hushwire gateway: could not start: NATS requires credentials \(authorization violation\): give --nats-user/m);

    // One URL of the three: the others are learnt from the cluster, as before.
    const oneUrl = await run(['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', c.urls[0] as string, '--oprf-key-file', key,
      '--nats-user', 'hwgw', '--nats-password-file', file('wrong2.pw', 'wr0ng-secret\n')]);
    t.equal(oneUrl.code, 1, 'one URL of the cluster, wrong password: exit 1');
    t.match(oneUrl.stderr, /could not start: NATS refused the credentials in --nats-password-file/);

    // With --oprf-evaluator the evaluator client connects first, with the same settings.
    const pub = bytesToHex(deriveServerKey(new Uint8Array(32).fill(3)).publicKey);
    const viaEvaluatorLink = await run(['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', nats, '--oprf-evaluator', 'main', '--oprf-public-key', pub,
      '--nats-user', 'hwgw', '--nats-password-file', file('wrong3.pw', 'wr0ng-secret\n')]);
    t.equal(viaEvaluatorLink.code, 1, 'refused on the evaluator link: exit 1');
    t.match(viaEvaluatorLink.stderr, /could not start: NATS refused the credentials in --nats-password-file/);

    const evaluator = await run(['oprf', '--port', '0', '--threads', '1', '--key-file', key, '--nats', nats,
      '--nats-user', 'hwgw', '--nats-password-file', file('wrong4.pw', 'wr0ng-secret\n')]);
    t.equal(evaluator.code, 1, 'hushwire oprf, wrong password: exit 1');
    t.match(evaluator.stderr, /^hushwire oprf: could not start: NATS refused the credentials in --nats-password-file \(authorization violation\)$/m);
  });

  // (That refusals after start are still retried: test/faults/nats-auth-rotation.test.ts.)
  t.test('the right credentials on the cluster still log in', async (t) => {
    const c = await startNatsCluster(3, { t, extraConfig: `authorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    const ok = await hushwire(['oprf-key', 'fetch', '--nats', c.urls.join(','), '--id', 'none', '--nats-user', 'hwgw', '--nats-password-file', file('right.pw', `${password}\n`)], { timeoutMs: 40_000 });
    // No evaluator runs: the fetch reaches NATS (logged in) and finds no responder.
    t.not(ok.code, null, 'the fetch ends');
    t.notMatch(ok.stderr, /refused the credentials|requires credentials/, 'logged in');
  });
}
