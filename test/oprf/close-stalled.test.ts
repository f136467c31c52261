// Closing the OPRF evaluator's NATS link (relay/oprf-nats.ts: `hushwire oprf` drains it
// at SIGTERM) and the evaluator itself while nats-server is stalled (SIGSTOP on the PID
// this test started; SIGCONT at teardown and by a timer, so it never stays stopped).
// Before, the drain waited for the server's PONG until the connection's ping-out (~30-45
// s: pingInterval 10 s, maxPingOut 3); its flush then failed, so nats.js never closed the
// connection: close() resolved with it still open, nats.js reconnected it once the server
// answered, and a `hushwire oprf` process would not have exited by itself.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { createLogger } from '../../relay/log.ts';
import { NatsLink } from '../../relay/oprf-nats.ts';
import { connz, haveNatsServer, stallNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';
import { until, within } from '../helpers/poll.ts';

const KEY = deriveServerKey(new Uint8Array(32).fill(1));
/** Far longer than a close may take: the test resumes the server itself. */
const STALL_MAX_MS = 120_000;

/** Stalls the server and waits until the kernel shows it stopped (a SIGSTOP is not
 *  always in effect when kill() returns). */
async function stall(t: Parameters<typeof stallNatsServer>[0], nats: Parameters<typeof stallNatsServer>[1]): Promise<() => void> {
  const resume = stallNatsServer(t, nats, STALL_MAX_MS);
  const pid = nats.pid;
  await until('nats-server to be stopped', () => / T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 10_000, 5);
  return resume;
}

/** Whether `nc` reported a disconnect (the ping-out, for a stalled server) so far. */
function watchDisconnect(nc: NatsConnection): () => boolean {
  let seen = false;
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'disconnect') seen = true;
  })().catch(() => undefined);
  return () => seen;
}

t.test('closing with nats-server stalled', { skip: haveNatsServer() ? false : 'nats-server not installed', timeout: 150_000 }, async (t) => {
  const nats = await startNatsServer({ t });

  t.test('NatsLink.close(true): the drain has a deadline, and the connection is closed', async (t) => {
    const link = new NatsLink({ servers: [nats.url], name: 'test-link', log: createLogger({ level: 'silent', destination: new PassThrough() }), what: 'test link' });
    t.teardown(() => link.close());
    await link.start();
    const nc = link.connection;
    if (nc === null) throw new Error('not connected');
    await nc.flush();
    const disconnected = watchDisconnect(nc);
    const resume = await stall(t, nats);
    await link.close(true);
    t.notOk(disconnected(), 'close() gave up on the drain before the connection\'s ping-out');
    t.ok(nc.isClosed(), 'the connection is closed, not left to reconnect');
    t.equal(link.connection, null);
    t.notOk(link.up);
    resume();
    await within(nc.closed(), 10_000, 'the closed connection\'s closed()');
  });

  t.test('OprfService.close(): resolves with the server stopped, and closes its connection', async (t) => {
    const ev = await startTestEvaluator({ servers: [nats.url], key: KEY, t });
    const resume = await stall(t, nats);
    let resumed = false;
    await ev.close();
    t.notOk(resumed, 'close() resolved while nats-server was still stopped');
    t.notOk(ev.service.ready, 'not ready once closed');
    t.match(ev.logs(), /OPRF evaluator closed/);
    t.notMatch(ev.logs(), /NATS connection lost/, 'close() did not wait for the connection\'s ping-out');
    resume();
    resumed = true;
    await until('the evaluator\'s connection to leave the server', async () => !(await connz(nats)).some((c) => c.name === 'test-oprf-main'));
  });
});
