// The gateway's OPRF worker thread starts when the gateway starts listening, not at the
// first evaluation (which then waited for the thread's start: ~0.2 s, seconds on a
// loaded machine, under the handset's register deadline); and a gateway closed while
// the thread is still starting ends it (gateway/server.ts, LocalEvaluator.ready).
import t, { type Test } from 'tap';
import type { Worker } from 'node:worker_threads';
import { startTestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/poll.ts';
import { LocalEvaluator } from '../../relay/evaluator.ts';
import type { OprfPool } from '../../relay/oprf-pool.ts';

t.setTimeout(120_000);

function poolOf(t: Test, evaluator: unknown): OprfPool | null {
  t.ok(evaluator instanceof LocalEvaluator, 'a local key: the gateway evaluates in its own worker thread');
  return (evaluator as LocalEvaluator).workerPool;
}

t.test('a started gateway has its worker thread up before the first evaluation', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const pool = poolOf(t, gw.relay.evaluator);
  t.not(pool, null, 'the pool exists once the gateway listens, nothing evaluated');
  if (pool === null) return;
  t.equal(pool.workerThreads.length, 1, 'its thread is started');
  // Nothing asks it for anything: the thread answers the start's ping by itself.
  await until('the worker thread answers', () => pool.started, 60_000);
  t.equal(pool.stats.evaluated, 0, 'up before any evaluation');
  t.equal(pool.workerThreads.length, 1, 'one thread');
});

t.test('a gateway closed while its worker thread starts leaves no thread running', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  const pool = poolOf(t, gw.relay.evaluator);
  t.not(pool, null, 'the pool exists');
  if (pool === null) {
    await gw.close();
    return;
  }
  const threads: readonly Worker[] = [...pool.workerThreads];
  t.equal(threads.length, 1, 'its thread is starting');
  t.equal(pool.started, false, 'and has not answered yet');
  await Promise.all([gw.close(), gw.close()]);
  t.equal(pool.workerThreads.length, 0, 'the pool holds no thread');
  t.same(threads.map((w) => w.threadId), [-1], 'the thread ended (threadId -1)');
  await gw.close();
  t.pass('a third close settles too');
});
