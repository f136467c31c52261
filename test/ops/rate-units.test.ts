// Unit tests of the rate-limit building blocks on a fake clock (no sleeps): the token
// bucket, the bounded per-key buckets, the envelope limiter, connection admission and
// the drain's pacing.
import t from 'tap';
import { Registry, Counter } from 'prom-client';
import { TokenBucket } from '../../relay/token-bucket.ts';
import { KeyedBuckets } from '../../relay/keyed-buckets.ts';
import { EnvelopeLimiter } from '../../relay/limiter.ts';
import { createAdmission } from '../../gateway/admission.ts';
import { moveSessionsAway, waitForZero } from '../../gateway/drain.ts';

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

function counter(): Counter<'limit'> {
  return new Counter({ name: 'x_total', help: 'x', labelNames: ['limit'], registers: [new Registry()] });
}

async function count(c: Counter<'limit'>, limit: string): Promise<number> {
  return (await c.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

t.test('token bucket: burst, refill, retry-after', async (t) => {
  const c = clock();
  const b = new TokenBucket(5, 10, c.now()); // 5 at once, 10 per second
  for (let i = 0; i < 5; i++) t.equal(b.take(1, c.now()), 0, `burst token ${i}`);
  t.equal(b.take(1, c.now()), 100, 'empty: one token is 100 ms away at 10/s');
  c.advance(50);
  t.equal(b.take(1, c.now()), 50, 'half-way: 50 ms left');
  c.advance(50);
  t.equal(b.take(1, c.now()), 0, 'refilled after the wait');
  c.advance(10_000);
  t.equal(b.tokens(c.now()), 5, 'never above capacity');
  t.ok(b.isFull(c.now()));
  t.equal(b.take(3, c.now()), 0, 'several at once');
  t.equal(b.take(3, c.now()), 100, 'missing one token: 100 ms');
  t.equal(b.tokens(c.now()), 2, 'a refused take takes nothing');
  t.equal(b.take(50, c.now()), 300, 'over capacity: time to a full bucket');
  c.advance(-5_000);
  t.equal(b.tokens(c.now()), 2, 'a clock going back mints nothing');
  t.throws(() => new TokenBucket(0, 1, 0), RangeError);
  t.throws(() => new TokenBucket(1, 0, 0), RangeError);
  t.throws(() => new TokenBucket(Number.NaN, 1, 0), RangeError);
});

t.test('keyed buckets: independent keys, bounded state, LRU eviction', async (t) => {
  const c = clock();
  const evictions: boolean[] = [];
  const kb = new KeyedBuckets({ capacity: 2, ratePerSecond: 1, maxKeys: 3, now: c.now, onEvict: (lost) => evictions.push(lost) });
  t.equal(kb.take('a', 1), 0);
  t.equal(kb.take('a', 1), 0);
  t.ok(kb.take('a', 1) > 0, 'a is empty');
  t.equal(kb.take('b', 2), 0, 'b has its own bucket');
  t.equal(kb.take('c', 1), 0);
  t.equal(kb.size, 3);
  t.ok(kb.take('a', 1) > 0, 'touching a makes it most recent (and it is still empty)');
  t.equal(kb.take('d', 1), 0, 'd pushes out the least recently used: b');
  t.equal(kb.size, 3, 'never more than maxKeys');
  t.same(evictions, [true], 'b had not refilled: counted as lost state');
  t.ok(kb.take('a', 1) > 0, 'the hot key a was kept, still limited');
  c.advance(10_000);
  t.equal(kb.take('e', 1), 0);
  t.same(evictions, [true, false], 'c had refilled: nothing lost');
  for (let i = 0; i < 1000; i++) kb.take(`k${i}`, 1);
  t.equal(kb.size, 3, 'a flood of new keys stays within the bound');
  t.throws(() => new KeyedBuckets({ capacity: 1, ratePerSecond: 1, maxKeys: 0 }), RangeError);
});

t.test('envelope limiter: device send rate and recipient byte budget', async (t) => {
  const c = clock();
  const rateLimited = counter();
  const evictions = counter();
  const lim = new EnvelopeLimiter({
    sendRatePerS: 10, sendBurst: 3, recipientBudgetBytes: 1000, recipientWindowS: 10, rateLimitKeys: 16,
  }, { rateLimited, rateLimitEvictions: evictions }, c.now);
  for (let i = 0; i < 3; i++) t.equal(lim.sendWait('alice'), 0);
  t.equal(lim.sendWait('alice'), 100, 'over: the wait is one token at 10/s');
  t.equal(lim.sendWait('bob'), 0, 'another device is not affected');
  c.advance(100);
  t.equal(lim.sendWait('alice'), 0, 'alice sends again after the wait');
  t.equal(await count(rateLimited, 'device_send'), 1);

  t.equal(lim.recipientWait('carol', 600), 0);
  t.equal(lim.recipientWait('carol', 600), 2000, '200 bytes missing at 100 bytes/s');
  t.equal(lim.recipientWait('dave', 1000), 0, 'another recipient has its own budget');
  c.advance(2000);
  t.equal(lim.recipientWait('carol', 600), 0, 'carol receives again after the window refilled enough');
  t.equal(await count(rateLimited, 'recipient_bytes'), 1);
  t.same(lim.sizes, { senders: 2, recipients: 2 });
});

t.test('a caller\'s clock reading is used as given (one per inbound frame), else the clock is read', async (t) => {
  const c = clock();
  let reads = 0;
  const now = (): number => { reads++; return c.now(); };
  const lim = new EnvelopeLimiter({
    sendRatePerS: 10, sendBurst: 3, recipientBudgetBytes: 1000, recipientWindowS: 10, rateLimitKeys: 16,
  }, undefined, now);
  const at = c.now();
  for (let i = 0; i < 3; i++) t.equal(lim.sendWait('alice', at), 0);
  t.equal(reads, 0, 'no clock read when the caller has one');
  t.equal(lim.sendWait('alice', at), 100);
  // the reading given decides, not the clock: 100 ms later by the caller's reading
  t.equal(lim.sendWait('alice', at + 100), 0);
  t.equal(reads, 0);
  t.ok(lim.sendWait('alice') > 0, 'without one, the clock (still at the start) is read: no token back yet');
  t.equal(reads, 1);
  t.equal(lim.recipientWait('carol', 1000, at), 0);
  t.ok(lim.recipientWait('carol', 1, at) > 0);
  t.equal(lim.recipientWait('carol', 100, at + 1000), 0);
  t.equal(reads, 1, 'the recipient budget likewise');
  const kb = new KeyedBuckets({ capacity: 1, ratePerSecond: 1, maxKeys: 4, now });
  t.equal(kb.take('k', 1, at), 0);
  t.equal(kb.take('k', 1, at + 500), 500, 'half a token refilled by the reading given');
  t.equal(reads, 1);
});

t.test('admission: full gateway 503 before the rate 429', async (t) => {
  const c = clock();
  const rateLimited = counter();
  let open = 0;
  const admit = createAdmission({ maxConnections: 3, connectRatePerS: 2, connectBurst: 2, openConnections: () => open, rateLimited, now: c.now });
  t.same(admit(), { ok: true });
  open++;
  t.same(admit(), { ok: true });
  open++;
  t.same(admit(), { ok: false, status: 429, reason: 'too many new connections', retryAfterS: 1 }, 'a token in 500 ms: Retry-After 1 s');
  c.advance(500);
  t.same(admit(), { ok: true }, 'one more after 500 ms at 2/s');
  open++;
  c.advance(10_000);
  t.same(admit(), { ok: false, status: 503, reason: 'gateway full', retryAfterS: 5 });
  t.same(admit(), { ok: false, status: 503, reason: 'gateway full', retryAfterS: 5 });
  open--;
  t.same(admit(), { ok: true }, 'a full gateway did not spend the rate budget');
  t.equal(await count(rateLimited, 'connections'), 2);
  t.equal(await count(rateLimited, 'connect_rate'), 1);
});

t.test('drain pacing: at most rate per second, every session told once, deadline kept', async (t) => {
  const c = clock(0);
  const open = new Set<number>();
  const told: { at: number; retryAfterMs: number }[] = [];
  const sessions = new Map<number, { reconnectElsewhere(ms: number, reason: string): void }>();
  for (let i = 0; i < 50; i++) {
    open.add(i);
    sessions.set(i, {
      reconnectElsewhere: (ms, reason) => {
        t.equal(reason, 'draining');
        told.push({ at: c.now(), retryAfterMs: ms });
        open.delete(i);
        sessions.delete(i);
      },
    });
  }
  const sleep = async (ms: number) => { c.advance(ms); };
  const r = await moveSessionsAway({
    sessions: () => sessions.values(), count: () => open.size, ratePerSecond: 20, deadline: 60_000,
    jitterMs: 500, now: c.now, random: () => 0.5, sleep,
  });
  t.same(r, { moved: 50, left: 0 });
  t.equal(told.length, 50);
  t.ok(told.every((x) => x.retryAfterMs === 250), 'jitter from random() * jitterMs');
  // At 20/s with a burst of one tick (2 sessions), no 1-second window holds more than 21.
  let worst = 0;
  for (const a of told) worst = Math.max(worst, told.filter((b) => b.at >= a.at && b.at < a.at + 1000).length);
  t.ok(worst <= 21, `at most 21 in any second (saw ${worst})`);
  t.ok(c.now() >= 2000 && c.now() <= 3000, `50 sessions at 20/s took ${c.now()} ms of fake time`);

  // A deadline that comes first: the rest is left to the caller.
  const c2 = clock(0);
  const many = Array.from({ length: 100 }, () => ({ reconnectElsewhere: () => { left--; } }));
  let left = 100;
  const r2 = await moveSessionsAway({
    sessions: () => many.slice(100 - left), count: () => left, ratePerSecond: 10, deadline: 1000,
    jitterMs: 0, now: c2.now, sleep: async (ms) => { c2.advance(ms); },
  });
  t.ok(r2.left > 0 && r2.moved + r2.left === 100, `deadline: moved ${r2.moved}, left ${r2.left}`);
  t.ok(c2.now() <= 1000, 'stopped at the deadline');

  const c3 = clock(0);
  let n = 3;
  t.equal(await waitForZero(() => n, 1000, { now: c3.now, sleep: async (ms) => { c3.advance(ms); n--; } }), true);
  t.equal(await waitForZero(() => 1, 1000, { now: c3.now, sleep: async (ms) => { c3.advance(ms); } }), false);
});
