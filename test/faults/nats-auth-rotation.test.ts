// NATS refusing a gateway's credentials for a while (a password changed on the server
// before the gateways got theirs, then put back) must not end the gateway's NATS link
// for good: nats.js by default closes the connection after two authorization errors in
// a row while reconnecting, which would leave a stateless gateway unready until someone
// restarted it. Both processes that hold a NATS link (the gateway's bus and the OPRF
// evaluator) set ignoreAuthErrorAbort and keep reconnecting with backoff.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsBus } from '../../relay/bus/nats.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { CONTRACT_LIMITS } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(120_000);

t.test('a gateway whose password NATS refuses for a while comes back by itself', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const good = 'rotation-test-good-1';
  const server = await startNatsServer({ t, extraConfig: `authorization { user: hwgw, password: "${good}" }` });
  const dir = tempDir('hw-rotation-');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${good}\n`, { mode: 0o600 });
  const bus = new NatsBus({
    servers: server.url,
    access: readNatsAccess({ nats: [server.url], natsUser: 'hwgw', natsPasswordFile: passwordFile }),
    limits: CONTRACT_LIMITS, prefix: 'rot', mailboxShards: 1, connectTimeoutMs: 2000, reconnectWaitMs: 200,
  });
  t.teardown(() => bus.close());
  await bus.start();
  t.equal(bus.status().state, 'connected');

  // The server's password changes (config reload): our connection is closed and every
  // reconnect is refused with an authorization violation.
  const original = readFileSync(server.configPath, 'utf8');
  writeFileSync(server.configPath, original.replace(good, 'rotation-test-other-2'));
  process.kill(server.pid, 'SIGHUP');
  await until('the bus to lose NATS', () => bus.status().state !== 'connected', 20_000);
  // Several refused attempts (reconnectWaitMs 200 plus jitter): well past the two in a
  // row after which nats.js would give up by default.
  await new Promise((r) => setTimeout(r, 3_000));
  t.not(bus.status().state, 'closed', 'still trying, not closed for good');

  // The password comes back: the bus reconnects by itself.
  writeFileSync(server.configPath, original);
  process.kill(server.pid, 'SIGHUP');
  await until('the bus to reconnect', () => bus.status().state === 'connected', 30_000);
  t.equal(bus.status().state, 'connected', 'connected again without a restart');
  t.notMatch(server.logTail(), new RegExp(good), 'the password is not in the server log either');
});
