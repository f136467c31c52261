// gateway/bus-start.ts on a fake bus: one log line for an outage however long it lasts,
// retries until the bus starts, stop() ends the retries, and only host:port of a NATS
// URL is ever logged; the line says what failed, and what retrying cannot fix is not
// retried. (test/faults/nats-unreachable.test.ts does it with a real NATS.)
import t from 'tap';
import { PassThrough } from 'node:stream';
import { startBus, natsEndpoints } from '../../gateway/bus-start.ts';
import { createLogger } from '../../relay/log.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { BusMisconfigured, JetStreamNotReady, NatsUnreachable } from '../../relay/bus/setup-errors.ts';
import type { Bus } from '../../relay/bus/bus.ts';
import { until } from '../helpers/poll.ts';

function capture() {
  const sink = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  sink.on('data', (c: Buffer) => {
    for (const l of c.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { log: createLogger({ level: 'debug', destination: sink }), lines };
}

/** A bus whose start() fails `failures` times, then succeeds. */
function fakeBus(failures: number): Bus & { attempts: number } {
  const bus = {
    kind: 'nats' as const,
    attempts: 0,
    start: async () => {
      bus.attempts++;
      if (bus.attempts <= failures) throw new HushwireError(ErrorCode.UNAVAILABLE, 'cannot connect to NATS');
    },
  };
  return bus as unknown as Bus & { attempts: number };
}

t.test('natsEndpoints keeps host:port only', async (t) => {
  t.equal(natsEndpoints(['nats://user:pw@10.0.0.1:4222']), '10.0.0.1:4222');
  t.equal(natsEndpoints(['nats://tok@nats.internal', '127.0.0.1:5222']), 'nats.internal:4222,127.0.0.1:5222');
  t.equal(natsEndpoints(['tls://[::1]:4443']), '[::1]:4443');
  t.equal(natsEndpoints(['nats://a b:1']), '(unparsable URL)');
});

t.test('first attempt succeeds: ready at once, one info line', async (t) => {
  const { log, lines } = capture();
  const s = await startBus(fakeBus(0), { log, servers: ['nats://127.0.0.1:4222'] });
  t.equal(s.started, true);
  t.equal(s.failures, 0);
  await s.whenStarted;
  await new Promise((r) => setImmediate(r));
  t.same(lines.map((l) => l['msg']), ['bus ready']);
});

t.test('an outage: one warn line, retries, then ready by itself', async (t) => {
  const { log, lines } = capture();
  const bus = fakeBus(6);
  const s = await startBus(bus, { log, servers: ['nats://admin:hunter2@127.0.0.1:4999'], baseDelayMs: 5, maxDelayMs: 20 });
  t.equal(s.started, false, 'not started after the first failed attempt');
  await s.whenStarted;
  t.equal(s.started, true);
  t.equal(bus.attempts, 7, 'retried until it worked');
  await new Promise((r) => setImmediate(r));
  const msgs = lines.map((l) => String(l['msg']));
  t.same(msgs.filter((m) => m.includes('unreachable')), ['NATS unreachable at 127.0.0.1:4999, retrying'], 'one line for the outage');
  t.ok(msgs.includes('NATS reachable at 127.0.0.1:4999: bus ready'));
  t.notMatch(JSON.stringify(lines), /hunter2|admin/, 'no credentials');
});

t.test('stop() ends the retries', async (t) => {
  const { log } = capture();
  const bus = fakeBus(Number.MAX_SAFE_INTEGER);
  const s = await startBus(bus, { log, servers: ['nats://127.0.0.1:4999'], baseDelayMs: 5, maxDelayMs: 10 });
  await until('a few retries', () => bus.attempts >= 3, 5000, 5);
  s.stop();
  const after = bus.attempts;
  await new Promise((r) => setTimeout(r, 100));
  t.ok(bus.attempts <= after + 1, 'no more attempts after stop (one may have been under way)');
  t.equal(s.started, false);
});

/** A bus whose start() throws each of `errors` in turn, then succeeds. */
function scriptedBus(errors: unknown[]): Bus & { attempts: number } {
  const bus = {
    kind: 'nats' as const,
    attempts: 0,
    start: async () => {
      const e = errors[bus.attempts++];
      if (e !== undefined) throw e;
    },
  };
  return bus as unknown as Bus & { attempts: number };
}

t.test('JetStream not ready is not "NATS unreachable": its line gives the reason; a change of kind gets a new line', async (t) => {
  const { log, lines } = capture();
  const bus = scriptedBus([
    new NatsUnreachable('connection refused', new Error('x')),
    new NatsUnreachable('connection refused', new Error('x')),
    new JetStreamNotReady('no suitable peers for placement (JetStream error 10005)', new Error('x')),
    new JetStreamNotReady('a JetStream request timed out', new Error('x')),
  ]);
  const s = await startBus(bus, { log, servers: ['nats://127.0.0.1:4999'], baseDelayMs: 5, maxDelayMs: 20 });
  await s.whenStarted;
  await new Promise((r) => setImmediate(r));
  t.same(lines.filter((l) => l['level'] === 40).map((l) => [l['msg'], l['error']]), [
    ['NATS unreachable at 127.0.0.1:4999, retrying', 'connection refused'],
    ['JetStream not ready: no suitable peers for placement (JetStream error 10005) (NATS at 127.0.0.1:4999); retrying', 'no suitable peers for placement (JetStream error 10005)'],
  ], 'one line per kind, in order; a new reason of the same kind waits for the reminder');
});

t.test('a configuration NATS refuses on the first attempt: startBus rejects, no retry', async (t) => {
  const { log, lines } = capture();
  const bad = new BusMisconfigured('--nats-replicas', '--nats-replicas 3 refused by NATS for stream HW_MBOX_0: replicas > 1 not supported in non-clustered mode');
  const bus = scriptedBus([bad]);
  await t.rejects(startBus(bus, { log, servers: ['nats://127.0.0.1:4999'], baseDelayMs: 5, maxDelayMs: 10 }), bad);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(bus.attempts, 1, 'not retried');
  t.same(lines, [], 'the caller reports it (one line), not the starter');
});

t.test('a configuration NATS refuses, found on a retry: logged, retries stop, whenFailed resolves', async (t) => {
  const { log, lines } = capture();
  const bad = new BusMisconfigured('--mailbox-shards', 'mailbox configured with 4 shard(s), but stream HW_MBOX_0 belongs to a mailbox of 16 shard(s): every gateway must use the same --mailbox-shards (docs/OPERATIONS.md)');
  const bus = scriptedBus([new NatsUnreachable('connection refused', new Error('x')), bad, undefined]);
  const s = await startBus(bus, { log, servers: ['nats://127.0.0.1:4999'], baseDelayMs: 5, maxDelayMs: 10 });
  t.equal(await s.whenFailed, bad);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(bus.attempts, 2, 'no attempt after it');
  t.equal(s.started, false);
  const errors = lines.filter((l) => l['level'] === 50);
  t.equal(errors.length, 1);
  t.equal(errors[0]!['msg'], `NATS reachable at 127.0.0.1:4999, but the bus cannot start as configured: ${bad.message}`);
  t.equal(errors[0]!['setting'], '--mailbox-shards');
});
