// A gateway on NATS without --dedup-key-file keys its mailbox deduplication (the
// Nats-Msg-Id HMAC) by a key of its own, so a send retried through another gateway may
// be stored twice. The start said so for the resume key (no --resume-key-file) but not
// for this one: an operator following README's evaluator commands, which give neither
// file, was told of one and not the other. Now an info line for this one too, once at
// start; none when the file is given, or on the embedded bus (one process: nothing to
// share).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway, natsGatewayPair } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { tempDir } from '../helpers/temp.ts';

const ADVICE = /mailbox deduplication: no --dedup-key-file, so a send retried through another gateway may be stored twice/;

t.test('embedded bus: no advice', async (t) => {
  const gw = await startTestGateway({ logLevel: 'info' });
  t.teardown(() => gw.close());
  t.notMatch(gw.logs(), ADVICE);
});

if (!haveNatsServer()) {
  t.test('on NATS', (t) => { t.plan(0, 'nats-server not installed'); t.end(); });
} else {
  t.test('on NATS without --dedup-key-file: said once at start; with it: not said', async (t) => {
    const [a] = await natsGatewayPair(t, 'dka', { logLevel: 'info' });
    t.match(a.logs(), ADVICE, 'the start says why a shared key file helps');
    t.equal(a.logs().split('\n').filter((l) => ADVICE.test(l)).length, 1, 'once');
    const dir = tempDir('hw-dedup-advice-');
    const keyFile = join(dir, 'dedup.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    const [b] = await natsGatewayPair(t, 'dkb', { logLevel: 'info', dedupKeyFile: keyFile });
    t.notMatch(b.logs(), ADVICE, 'no advice when the key is shared');
  });
}
