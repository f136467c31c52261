// bench/percentile.ts: nearest-rank percentiles (the storm's per-device reconnect times).
import t from 'tap';
import { nearestRank } from '../../bench/percentile.ts';

t.test('nearest rank on known sets', async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(nearestRank(hundred, 50), 50);
  t.equal(nearestRank(hundred, 99), 99);
  t.equal(nearestRank(hundred, 99.9), 100);
  t.equal(nearestRank(hundred, 100), 100);
  t.equal(nearestRank(hundred, 0.5), 1, 'the smallest for a low percentile');
  t.equal(nearestRank([7], 50), 7, 'one value is every percentile');
  t.equal(nearestRank([1, 2, 3, 4], 50), 2, 'ceil(0.5 * 4) = the 2nd');
  t.equal(nearestRank([], 50), null, 'none: null');
});

t.test('property: the result is a member, and at least p% of the values are <= it', async (t) => {
  for (let k = 0; k < 200; k++) {
    const n = 1 + Math.floor(Math.random() * 500);
    const xs = Array.from({ length: n }, () => Math.random() * 10).sort((a, b) => a - b);
    const p = Math.max(0.01, Math.random() * 100);
    const v = nearestRank(xs, p)!;
    if (!xs.includes(v)) return t.fail(`not a member (n ${n}, p ${p})`);
    const atOrBelow = xs.filter((x) => x <= v).length;
    if (atOrBelow / n < p / 100 - 1e-12) return t.fail(`only ${atOrBelow}/${n} at or below for p ${p}`);
    const below = xs.filter((x) => x < v).length;
    if (below / n >= p / 100 + 1e-12) return t.fail(`a smaller member would do (n ${n}, p ${p})`);
  }
  t.pass('200 random sets');
});

t.test('wrong percentiles are refused', async (t) => {
  for (const p of [0, -1, 100.1, Number.NaN]) t.throws(() => nearestRank([1, 2], p), RangeError, String(p));
});
