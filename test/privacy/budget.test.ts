// Discovery and opt-in budgets on the shared counters, with an injected clock: the
// first-sync window starts at registration, then daily windows; the route cap; all or
// nothing across device and route; retry_after_ms = when the exhausted window ends.
// And lookup answers of one fixed size whatever the route holds.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { SharedBudgets, decodeWindow, encodeWindow, windowAt, REFUND_MARKS, RECORD_MAX_BYTES, type Charge, type ChargeSpec, type WindowRecord } from '../../relay/privacy/budget.ts';
import { RATE_WINDOW_MS, DEFAULT_PRIVACY, lastSeenWriteEveryMs, idleSweepEveryMs } from '../../relay/privacy/options.ts';
import { COUNTER_TTL_MS } from '../../relay/bus/counters.ts';
import { paddedDevices, fixedDevicesSize } from '../../relay/privacy/lookup.ts';
import { wire, type DirectoryDevice } from '../../relay/wire.ts';

const DAY = RATE_WINDOW_MS;
const tok = (): string => randomBytes(16).toString('hex');

async function codeOf(p: Promise<unknown>): Promise<{ code: string; retryAfterMs: number }> {
  try {
    await p;
    return { code: 'ok', retryAfterMs: 0 };
  } catch (e) {
    const x = e as { code?: string; retryAfterMs?: number };
    return { code: x.code ?? 'throw', retryAfterMs: x.retryAfterMs ?? 0 };
  }
}

/** The same specs relay/privacy/privacy.ts builds, with small budgets. */
function specs(dev: string, route: string, regAt: number, n: number, o = { first: 20, daily: 5, route: 30 }): ChargeSpec[] {
  return [
    {
      key: `dev.${dev}`, n, label: 'discovery_device',
      fresh: (now): WindowRecord => (now < regAt + DAY ? { s: Math.min(regAt, now), n: 0, f: 1 } : { s: now, n: 0 }),
      limit: (w) => (w.f === 1 ? o.first : o.daily),
    },
    { key: `rt.${route}`, n, label: 'discovery_route', fresh: (now) => ({ s: now, n: 0 }), limit: () => o.route },
  ];
}

t.test('the window equals the counter TTL; defaults are the documented numbers', async (t) => {
  t.equal(RATE_WINDOW_MS, COUNTER_TTL_MS, 'a counter never vanishes inside its window');
  t.equal(RATE_WINDOW_MS, 24 * 3600 * 1000);
  t.same({ ...DEFAULT_PRIVACY }, {
    discoveryFirstSync: 2000, discoveryDaily: 100, discoveryRouteDaily: 4000, verifyStartsPerNumber: 5,
    lookupBatchMax: 128, deviceIdleExpiryMs: 180 * DAY,
  });
  t.equal(lastSeenWriteEveryMs(DEFAULT_PRIVACY), DAY, 'last_seen written at most daily');
  t.equal(idleSweepEveryMs(DEFAULT_PRIVACY), 3600 * 1000, 'sweep hourly');
  t.equal(lastSeenWriteEveryMs({ ...DEFAULT_PRIVACY, deviceIdleExpiryMs: 2000 }), 250);
});

t.test('window records: codec and which window is in force', async (t) => {
  t.same(decodeWindow(encodeWindow({ s: 5, n: 3, f: 1 })), { s: 5, n: 3, f: 1 });
  t.same(decodeWindow(encodeWindow({ s: 5, n: 3 })), { s: 5, n: 3 });
  t.equal(decodeWindow(new TextEncoder().encode('{"s":"x","n":1}')), null);
  t.equal(decodeWindow(new TextEncoder().encode('not json')), null);
  t.equal(decodeWindow(new TextEncoder().encode('{"s":1,"n":-1}')), null);
  t.match(new TextDecoder().decode(encodeWindow({ s: 1, n: 2 })), /^\{"s":1,"n":2\}$/, 'nothing but a start and a count');
  // The ids of the window's last refunds (random, 8 hex each), at most REFUND_MARKS.
  t.same(decodeWindow(encodeWindow({ s: 1, n: 2, r: ['0123abcd'] })), { s: 1, n: 2, r: ['0123abcd'] });
  t.same(decodeWindow(encodeWindow({ s: 1, n: 2, r: Array.from({ length: 12 }, (_, i) => `0000000${i.toString(16)}`) }))!.r, ['00000008', '00000009', '0000000a', '0000000b'], 'the last 4 kept');
  const ids = Array.from({ length: REFUND_MARKS }, () => 'abcdef01');
  t.ok(encodeWindow({ s: Number.MAX_SAFE_INTEGER, n: Number.MAX_SAFE_INTEGER, f: 1, c: ids, r: ids }).length <= RECORD_MAX_BYTES, 'never over the bound, whatever the numbers');
  t.same(decodeWindow(new TextEncoder().encode('{"s":1,"n":2,"r":["nothex!!"]}')), { s: 1, n: 2 }, 'malformed ids dropped, the window kept');
  const fresh = (now: number): WindowRecord => ({ s: now, n: 0 });
  t.same(windowAt({ s: 100, n: 4 }, 150, 100, fresh), { s: 100, n: 4 }, 'inside');
  t.same(windowAt({ s: 100, n: 4 }, 200, 100, fresh), { s: 200, n: 0 }, 'ended: fresh');
  t.same(windowAt(null, 7, 100, fresh), { s: 7, n: 0 });
});

t.test('first sync, then daily budgets; route cap; retry_after', async (t) => {
  const bus = new MemoryBus({ limits: { maxMessagesPerDevice: 10, maxAgeMs: 60_000, maxMessageBytes: 1000 } });
  await bus.start();
  t.teardown(() => bus.close());
  const b = new SharedBudgets(bus, DAY);
  // Counters live COUNTER_TTL_MS in wall time; the injected clock stays near now.
  const t0 = Date.now();
  const [dev, route] = [tok(), tok()];

  await b.charge(specs(dev, route, t0, 15), t0 + 1000);
  t.equal((await codeOf(b.charge(specs(dev, route, t0, 5), t0 + 2000))).code, 'ok', 'the first-sync budget (20) holds a full sync');
  const over = await codeOf(b.charge(specs(dev, route, t0, 1), t0 + 3000));
  t.equal(over.code, 'RATE_LIMITED', 'the 21st number in the first day is refused');
  t.equal(over.retryAfterMs, DAY - 3000, 'retry when the first-sync window (from registration) ends');

  // A second device of the same route, registered later, has its own first-sync budget,
  // but the route cap (30) binds: 20 used already.
  const dev2 = tok();
  t.equal((await codeOf(b.charge(specs(dev2, route, t0 + 5000, 10), t0 + 6000))).code, 'ok');
  const capped = await codeOf(b.charge(specs(dev2, route, t0 + 5000, 1), t0 + 7000));
  t.equal(capped.code, 'RATE_LIMITED', 'route cap');
  t.equal(capped.retryAfterMs, DAY + 1000 - 7000, 'retry when the route window (opened by the first charge) ends');
  // All or nothing: the refused request took nothing from the device either.
  const d2 = decodeWindow((await bus.counterGet(`dev.${dev2}`))!.value)!;
  t.equal(d2.n, 10, 'the device was refunded when the route refused');

  // After the first day (and the route's window): daily budget (5) for the device.
  const day2 = t0 + DAY + 2000;
  t.equal((await codeOf(b.charge(specs(dev, route, t0, 5), day2))).code, 'ok', 'day 2: 5 new contacts');
  const d = decodeWindow((await bus.counterGet(`dev.${dev}`))!.value)!;
  t.same({ s: d.s, n: d.n, f: d.f }, { s: day2, n: 5, f: undefined }, 'a daily window opened at first use');
  t.match(d.c, [/^[0-9a-f]{8}$/], 'and the id of the charge it holds (random)');
  const day2over = await codeOf(b.charge(specs(dev, route, t0, 1), day2 + 60_000));
  t.equal(day2over.code, 'RATE_LIMITED');
  t.equal(day2over.retryAfterMs, DAY - 60_000);
  t.equal((await codeOf(b.charge(specs(dev, route, t0, 1), day2 + DAY))).code, 'ok', 'a day later it refills');

  // Keys are route tags and device tokens only.
  t.equal(await bus.counterGet(`dev.${tok()}`), null);
});

t.test('concurrent charges on the same counters never exceed the budget', async (t) => {
  const bus = new MemoryBus({ limits: { maxMessagesPerDevice: 10, maxAgeMs: 60_000, maxMessageBytes: 1000 } });
  await bus.start();
  t.teardown(() => bus.close());
  const b = new SharedBudgets(bus, DAY);
  const [dev, route] = [tok(), tok()];
  const now = Date.now();
  const results = await Promise.all(Array.from({ length: 40 }, () => codeOf(b.charge(specs(dev, route, now, 1), now))));
  const ok = results.filter((r) => r.code === 'ok').length;
  t.ok(ok <= 20, `at most the budget passed (${ok})`);
  t.ok(results.every((r) => r.code === 'ok' || r.code === 'RATE_LIMITED' || r.code === 'UNAVAILABLE'), 'only clear codes');
  const used = decodeWindow((await bus.counterGet(`dev.${dev}`))!.value)!.n;
  t.equal(used, ok, 'the counter holds exactly what passed');
});

t.test('refunds: give a charge back in its own window, never below zero, under concurrency', async (t) => {
  const bus = new MemoryBus({ limits: { maxMessagesPerDevice: 10, maxAgeMs: 60_000, maxMessageBytes: 1000 } });
  await bus.start();
  t.teardown(() => bus.close());
  const b = new SharedBudgets(bus, DAY);
  const vs = (key: string, limit = 3): ChargeSpec[] => [{ key, n: 1, label: 'verify_start', fresh: (now) => ({ s: now, n: 0 }), limit: () => limit }];
  const used = async (key: string): Promise<number | null> => {
    const rec = await bus.counterGet(key);
    return rec === null ? null : decodeWindow(rec.value)!.n;
  };
  const t0 = Date.now();

  const k = `vs.${tok()}`;
  const first = await b.charge(vs(k), t0);
  for (let i = 1; i < 3; i++) await b.charge(vs(k), t0);
  t.equal((await codeOf(b.charge(vs(k), t0))).code, 'RATE_LIMITED', 'budget used up');
  t.equal(await b.refund(first), true, 'a refund');
  t.equal(await used(k), 2);
  t.equal((await codeOf(b.charge(vs(k), t0 + 10))).code, 'ok', 'the refunded unit can be charged again');
  // Once per charge, never below zero: a charge refunded three times is given back once.
  const z = `vs.${tok()}`;
  await b.charge(vs(z), t0);
  const zc = await b.charge(vs(z), t0);
  for (let i = 0; i < 3; i++) t.equal(await b.refund(zc), true);
  t.equal(await used(z), 1, 'given back once');
  const none = `vs.${tok()}`;
  t.equal(await b.refund({ specs: vs(none), windows: [t0], id: '0123abcd' }), true, 'nothing to give back: no record is made');
  t.equal(await bus.counterGet(none), null);
  // A charge from an earlier window is not taken off a later one.
  const w = `vs.${tok()}`;
  const old = await b.charge(vs(w), t0 - DAY - 5);
  await b.charge(vs(w), t0);
  t.equal(await b.refund(old), true, 'its window is over: nothing left of it');
  t.equal(await used(w), 1, 'the current window keeps its charge');

  // Concurrent charges and refunds of one counter: at most the budget is ever held, and
  // the counter ends at exactly the charges that passed minus those given back.
  const c = `vs.${tok()}`;
  const limit = 5;
  let held = 0;
  let maxHeld = 0;
  let passed = 0;
  const attempt = async (i: number): Promise<{ charged: boolean; refunded: boolean }> => {
    await new Promise((res) => setTimeout(res, i % 8)); // spread out: charges race refunds
    let charge: Charge;
    try {
      charge = await b.charge(vs(c, limit), t0);
    } catch {
      return { charged: false, refunded: false };
    }
    held++;
    maxHeld = Math.max(maxHeld, held);
    // Every other charge that passed (counted as they pass, whatever the timing) "was
    // not sent" and gives its charge back.
    const refund = ++passed % 2 === 1;
    await new Promise((res) => setImmediate(res));
    if (refund) {
      const back = await b.refund(charge);
      if (back) held--;
      return { charged: true, refunded: back };
    }
    return { charged: true, refunded: false };
  };
  // Two rounds of 20 at once: within a round charges race refunds; the second round
  // starts after the first one's refunds, so that they certainly made room (under CI
  // load a single round could try every charge before any refund).
  const results = [
    ...(await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i)))),
    ...(await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(20 + i)))),
  ];
  const charged = results.filter((r) => r.charged).length;
  const refunded = results.filter((r) => r.refunded).length;
  t.ok(charged > limit, `more charges passed than the budget (${charged}): refunds made room`);
  t.ok(maxHeld <= limit, `never more than the budget held at once (${maxHeld})`);
  t.equal(await used(c), charged - refunded, 'the counter holds exactly the charges that stayed');
  t.ok((await used(c))! <= limit, 'within the budget');

  // A store that fails: the refund reports it and the charge stays.
  const f = `vs.${tok()}`;
  const fc = await b.charge(vs(f), t0);
  const put = bus.counterPut.bind(bus);
  bus.counterPut = async () => { throw new Error('store down'); };
  t.teardown(() => { bus.counterPut = put; });
  t.equal(await b.refund(fc), false, 'the refund failed');
  bus.counterPut = put;
  t.equal(await used(f), 1, 'the charge stays');
  t.equal(await b.refund(fc), true, 'tried again once the store works');
  t.equal(await used(f), 0, 'given back then');
});

t.test('lookup answers: one size for 0..max devices', async (t) => {
  const dev = (i: number): DirectoryDevice => wire.DirectoryDevice.decode(wire.DirectoryDevice.encode({
    device: randomBytes(16), identityKey: randomBytes(32), prekey: randomBytes(32), prekeySignature: randomBytes(64),
    registeredAtMs: 1 + i, lastSeenMs: 1 + i,
  }).finish());
  for (const max of [1, 3, 5, 20, 100]) {
    const sizes = new Set<number>();
    for (let k = 0; k <= max; k++) {
      const answer = paddedDevices(randomBytes(32), Array.from({ length: k }, (_, i) => dev(i)), max);
      t.equal(answer.devices.length, k);
      sizes.add(wire.Devices.encode(answer).finish().length);
      // And as a whole op, which is what crosses the socket.
      sizes.add(wire.Op.encode({ req: 77, devices: answer }).finish().length - 0 * k);
    }
    t.equal(sizes.size, 2, `max ${max}: one Devices size and one Op size (${[...sizes].join(', ')})`);
    t.ok([...sizes].includes(fixedDevicesSize(max)), 'the fixed size');
  }
  const more = paddedDevices(randomBytes(32), [dev(1), dev(2), dev(3)], 2);
  t.equal(more.padding?.length ?? 0, 0, 'more devices than the limit: no padding (never truncated)');
  t.equal(more.devices.length, 3);
});
