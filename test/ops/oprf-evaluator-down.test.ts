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

type Line = { level: number; msg: string; evaluator?: string; why?: string; inboxPrefix?: string };

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Line[] } {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return {
    log: createLogger({ level: 'debug', destination: sink }),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line),
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
  // A timeout's line names its likely causes (relay/evaluator-remote.ts timeoutCausesText),
  // with the gateway's reply prefix (_INBOX by default), also as a field.
  t.equal(c.lines()[1]?.msg, 'OPRF evaluator main still not answering (timeout): 30 more request(s) failed in the last 60 s; '
    + 'likely causes: the evaluator\'s --reply-prefixes do not cover this gateway\'s --nats-inbox-prefix _INBOX '
    + '(it drops such requests unanswered; its log says "a request named a reply subject outside --reply-prefixes" and its hushwire_oprf_requests_total{result="bad_reply"} counts them: add _INBOX to its --reply-prefixes); '
    + 'NATS permissions (the evaluator\'s user must be allowed to answer, allow_responses, and this gateway\'s to subscribe to _INBOX.>); '
    + 'or the evaluator is overloaded or stalled (its /readyz and /metrics)');
  t.match(c.lines()[1], { inboxPrefix: '_INBOX' });
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

t.test('a gateway whose --nats-inbox-prefix the evaluator\'s --reply-prefixes leave out: its timeout line names that cause', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  // The evaluator answers only _INBOX_hw_gw (relay/oprf-service.ts: it drops a request
  // whose reply subject is outside --reply-prefixes, unanswered, and cannot safely tell
  // the requester); the gateway's OPRF client uses the default _INBOX. Its requests, the
  // start-up probe's and a registration's, wait out the deadline. Before, the gateway
  // said only 'OPRF evaluator narrow not answering (timeout)'.
  const server = await startNatsServer({ t });
  const key = generateServerKey();
  const ev = await startTestEvaluator({ servers: [server.url], key, id: 'narrow', replyPrefixes: ['_INBOX_hw_gw'], t });
  const c = capture();
  const remote = new RemoteEvaluator({ servers: [server.url], evaluators: [{ id: 'narrow', publicKey: key.publicKey }], timeoutMs: 1000, log: c.log });
  t.teardown(() => remote.close());
  await remote.start();
  await t.rejects(remote.routeForNumber('+15554460011'), { code: 'UNAVAILABLE' }, 'a registration\'s lookup fails UNAVAILABLE');
  await until('the gateway\'s line', () => c.lines().some((l) => /not answering/.test(l.msg)), 10_000);
  const down = c.lines().filter((l) => /not answering/.test(l.msg));
  t.equal(down.length, 1, 'one line');
  t.match(down[0], { level: 40, evaluator: 'narrow', why: 'timeout', inboxPrefix: '_INBOX' });
  t.match(down[0]?.msg, /^OPRF evaluator narrow not answering \(timeout\): registrations and discoveries fail UNAVAILABLE until it does; likely causes: the evaluator's --reply-prefixes do not cover this gateway's --nats-inbox-prefix _INBOX /, 'names the likely cause, with the gateway\'s prefix');
  t.match(down[0]?.msg, /hushwire_oprf_requests_total\{result="bad_reply"\} counts them: add _INBOX to its --reply-prefixes\)/, 'where the evaluator shows it, and what to do');
  t.match(down[0]?.msg, /NATS permissions \(the evaluator's user must be allowed to answer, allow_responses, and this gateway's to subscribe to _INBOX\.>\)/, 'the other cause');
  t.notMatch(JSON.stringify(down[0]), /_INBOX\.[A-Za-z0-9]/, 'no reply subject of its own (only the prefix, a setting)');
  // The evaluator's side: what the line tells the operator to look at.
  t.match(ev.logs(), /a request named a reply subject outside --reply-prefixes/, 'the evaluator logged the dropped request');
  t.match(await ev.service.registry.metrics(), /^hushwire_oprf_requests_total\{result="bad_reply"\} [1-9]\d*$/m, 'and counted it bad_reply');

  // What the line says to do works: a gateway whose --nats-inbox-prefix it lists is answered.
  const fitting = new RemoteEvaluator({ servers: [server.url], evaluators: [{ id: 'narrow', publicKey: key.publicKey }], timeoutMs: 5000, inboxPrefix: '_INBOX_hw_gw', log: capture().log });
  t.teardown(() => fitting.close());
  await fitting.start();
  t.ok((await fitting.routeForNumber('+15554460011')).length > 0, 'a gateway with --nats-inbox-prefix _INBOX_hw_gw gets its answer');
});
