// Evaluator.ready() starts the gateway's OPRF worker thread ahead of the first
// evaluation (which otherwise waits for the thread's start: ~0.2 s, seconds on a loaded
// machine, under the handset's register deadline; test/helpers' warmEvaluator uses it);
// and a gateway closed while that thread is still starting ends it (LocalEvaluator.ready,
// the pool's destroy). The gateway itself does not call it at listen (gateway/server.ts
// says why).
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

t.test('ready() has the worker thread up before the first evaluation', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  t.equal(poolOf(t, gw.relay.evaluator), null, 'no thread at listen');
  void gw.relay.evaluator.ready?.();
  const pool = poolOf(t, gw.relay.evaluator);
  t.not(pool, null, 'the pool exists once ready() was called, nothing evaluated');
  if (pool === null) return;
  t.equal(pool.workerThreads.length, 1, 'its thread is started');
  // Nothing asks it for anything: the thread answers the start's ping by itself.
  await until('the worker thread answers', () => pool.started, 60_000);
  t.equal(pool.stats.evaluated, 0, 'up before any evaluation');
  t.equal(pool.workerThreads.length, 1, 'one thread');
});

t.test('a gateway closed while its worker thread starts leaves no thread running', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  const starting = gw.relay.evaluator.ready?.();
  starting?.catch(() => undefined); // ended by the close below
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
