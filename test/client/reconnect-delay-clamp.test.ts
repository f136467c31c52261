// A gateway's retry_after_ms is a uint32 (up to ~49.7 days); setTimeout fires a delay
// above 2^31-1 ms (~24.8 days) after 1 ms instead (Node: TimeoutOverflowWarning). The
// reconnect wait after an auth refused with retry_after_ms (RATE_LIMITED) and after a
// `reconnect` op's hint came from such values unclamped: a gateway saying "come back in
// 30 days" got the client back at once, every time, with no backoff at all.
import t from 'tap';
import { Connection, type StateChange } from '../../client/connection.ts';
import { CloseCode } from '../../relay/errors.ts';
import { startFakeGateway, authOk, sleep, until } from './fake-gateway.ts';

/** setTimeout's largest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** More than that, as a gateway may say it (uint32). */
const HUGE_MS = 4_000_000_000;

/** Collects the TimeoutOverflowWarnings emitted while the test runs. */
function overflowWarnings(t: { teardown(fn: () => unknown): void }): string[] {
  const seen: string[] = [];
  const onWarning = (w: Error) => { if (w.name === 'TimeoutOverflowWarning') seen.push(w.message); };
  process.on('warning', onWarning);
  t.teardown(() => { process.removeListener('warning', onWarning); });
  return seen;
}

function connect(url: string, random: () => number, states: StateChange[]): Connection {
  return new Connection({
    urls: [url],
    authenticate: async (ctx) => {
      await ctx.request({ auth: { route: new Uint8Array(32), device: new Uint8Array(16), signature: ctx.challenge.nonce } });
    },
    backoff: { baseMs: 5, capMs: 40 },
    random,
    onState: (c) => states.push(c),
  });
}

t.test('an auth refused RATE_LIMITED with a retry_after_ms past setTimeout\'s range waits, not reconnects at once', async (t) => {
  const warnings = overflowWarnings(t);
  const gw = await startFakeGateway({
    handler: (c, op) => {
      if (op.auth) c.send([{ req: op.req, error: { code: 'RATE_LIMITED', message: 'send-only connections taken', retryAfterMs: HUGE_MS } }]);
    },
  });
  t.teardown(() => gw.close());
  const states: StateChange[] = [];
  const conn = connect(gw.url, () => 0, states);
  t.teardown(() => conn.close());
  void conn.connect(60_000).catch(() => undefined);
  await until(() => states.some((s) => s.to === 'disconnected'), 5_000, 'the refused auth');
  const gone = states.find((s) => s.to === 'disconnected')!;
  t.ok(gone.delayMs !== undefined && gone.delayMs <= MAX_DELAY_MS, `the wait told (${gone.delayMs}) is one setTimeout keeps`);
  t.ok(gone.delayMs !== undefined && gone.delayMs >= MAX_DELAY_MS, 'and no shorter than the gateway allows it to be');
  // Without the clamp the timer fired after 1 ms: a second connection at once.
  await sleep(300);
  t.equal(gw.conns.length, 1, 'no second connection to the gateway that said to wait');
  t.same(warnings, [], 'no TimeoutOverflowWarning');
});

t.test('a reconnect op whose hint is past setTimeout\'s range moves with a wait setTimeout keeps', async (t) => {
  const warnings = overflowWarnings(t);
  const gw = await startFakeGateway({
    handler: (c, op) => {
      if (!op.auth) return;
      authOk(c, op);
      // A draining gateway: move, come back within the hint; then its close.
      c.send([{ reconnect: { retryAfterMs: HUGE_MS, reason: 'draining' } }]);
      setTimeout(() => c.close(CloseCode.DRAINING, 'draining'), 20);
    },
  });
  t.teardown(() => gw.close());
  const states: StateChange[] = [];
  // 0.9 of the hint (3.6e9 ms) is past the range.
  const conn = connect(gw.url, () => 0.9, states);
  t.teardown(() => conn.close());
  await conn.connect(10_000);
  await until(() => states.some((s) => s.to === 'disconnected'), 5_000, 'the move');
  const gone = states.find((s) => s.to === 'disconnected')!;
  t.ok(gone.delayMs !== undefined && gone.delayMs <= MAX_DELAY_MS, `the wait told (${gone.delayMs}) is one setTimeout keeps`);
  await sleep(300);
  t.equal(gw.conns.length, 1, 'not back at once');
  t.same(warnings, [], 'no TimeoutOverflowWarning');
});
