// An OPRF evaluator that stops answering (stopped, crashed, its NATS user removed)
// fails every registration and discovery with UNAVAILABLE. The metrics counted it; the
// gateway's log said nothing at all. Now: one warn line naming the evaluator id and why,
// at most one a minute while it stays down, one info line when it answers again
// (relay/evaluator-remote.ts EvaluatorHealth).
import t from 'tap';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../relay/log.ts';
import { EvaluatorHealth, DOWN_LINE_EVERY_MS, RemoteEvaluator } from '../../relay/evaluator-remote.ts';
import { generateServerKey } from '../../relay/crypto/oprf.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(90_000);

function capture(): { log: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string; evaluator?: string }[] } {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return {
    log: createLogger({ level: 'debug', destination: sink }),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; evaluator?: string }),
  };
}

t.test('the lines: down once, then a minute at most, up once', async (t) => {
  let now = 0;
  const c = capture();
  const h = new EvaluatorHealth('main', () => c.log, () => now);
  h.answered();
  t.equal(c.lines().length, 0, 'answering is not news');
  for (let i = 0; i < 30; i++) { h.failed('no responders'); now += 1000; }
  await new Promise((r) => setImmediate(r));
  t.same(c.lines().map((l) => l.msg), ['OPRF evaluator main not answering (no responders): registrations and discoveries fail UNAVAILABLE until it does']);
  now = DOWN_LINE_EVERY_MS;
  h.failed('timeout');
  await new Promise((r) => setImmediate(r));
  t.equal(c.lines()[1]?.msg, 'OPRF evaluator main still not answering (timeout): 30 more request(s) failed in the last 60 s');
  h.answered();
  h.answered();
  await new Promise((r) => setImmediate(r));
  t.equal(c.lines().length, 3);
  t.equal(c.lines()[2]?.msg, 'OPRF evaluator main answers again, after 31 failed request(s) over 60 s');
  t.equal(c.lines()[2]?.level, 30);
});

t.test('a gateway\'s evaluator client whose evaluator goes away and comes back', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const key = generateServerKey();
  let ev = await startTestEvaluator({ servers: [server.url], key, id: 'down1' });
  const c = capture();
  const remote = new RemoteEvaluator({ servers: [server.url], evaluators: [{ id: 'down1', publicKey: key.publicKey }], timeoutMs: 2000, log: c.log });
  t.teardown(() => remote.close());
  await remote.start();
  await until('the start-up probe', () => c.lines().some((l) => /answers with the pinned key/.test(l.msg)), 20_000);
  await remote.routeForNumber('+15554460001');

  await ev.close();
  for (let i = 0; i < 5; i++) await t.rejects(remote.routeForNumber('+15554460002'), { code: 'UNAVAILABLE' });
  const down = c.lines().filter((l) => /not answering/.test(l.msg));
  t.equal(down.length, 1, 'one line for five failed requests');
  t.equal(down[0]?.level, 40);
  t.equal(down[0]?.evaluator, 'down1');
  t.match(down[0]?.msg, /^OPRF evaluator down1 not answering \(no responders\): registrations and discoveries fail UNAVAILABLE until it does$/);

  ev = await startTestEvaluator({ servers: [server.url], key, id: 'down1', t });
  await remote.routeForNumber('+15554460003');
  const up = c.lines().filter((l) => /answers again/.test(l.msg));
  t.equal(up.length, 1, 'one line when it answers again');
  t.match(up[0]?.msg, /^OPRF evaluator down1 answers again, after 5 failed request\(s\) over \d+ s$/);
});
