import t from 'tap';
import { fullJitterDelay, backoffCeiling, DEFAULT_BACKOFF } from '../../client/backoff.ts';

t.test('ceiling doubles from 250 ms and stops at 10 s', async (t) => {
  t.equal(backoffCeiling(0), 250);
  t.equal(backoffCeiling(1), 500);
  t.equal(backoffCeiling(5), 8_000);
  t.equal(backoffCeiling(6), 10_000);
  t.equal(backoffCeiling(1_000_000), 10_000, 'huge attempt counts stay at the cap (no Infinity/NaN)');
  t.equal(backoffCeiling(-3), 250, 'negative attempts clamp to the base');
});

t.test('property: every delay is an integer in [0, min(cap, base*2^n)]', async (t) => {
  let bad = 0;
  for (let attempt = 0; attempt <= 40; attempt++) {
    const ceil = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** attempt);
    for (let i = 0; i < 5_000; i++) {
      const d = fullJitterDelay(attempt);
      if (!Number.isInteger(d) || d < 0 || d > ceil) bad++;
    }
  }
  t.equal(bad, 0, 'no sample out of bounds (205,000 samples)');
});

t.test('property: the jitter is full (uniform over the whole window), not equal jitter', async (t) => {
  for (const attempt of [0, 3, 10]) {
    const ceil = backoffCeiling(attempt);
    const n = 20_000;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      const d = fullJitterDelay(attempt);
      sum += d;
      min = Math.min(min, d);
      max = Math.max(max, d);
      deciles[Math.min(9, Math.floor((d / ceil) * 10))]++;
    }
    const mean = sum / n;
    t.ok(Math.abs(mean - ceil / 2) < ceil * 0.03, `attempt ${attempt}: mean ${mean.toFixed(1)} ~ ${ceil / 2}`);
    t.ok(min < ceil * 0.01, `attempt ${attempt}: reaches near 0 (${min})`);
    t.ok(max > ceil * 0.99, `attempt ${attempt}: reaches near the ceiling (${max})`);
    // Uniform: each tenth of the window holds ~10% of the samples.
    t.ok(deciles.every((c) => Math.abs(c / n - 0.1) < 0.02), `attempt ${attempt}: deciles ${deciles.join(',')}`);
  }
});

t.test('injected randomness maps onto the window ends', async (t) => {
  t.equal(fullJitterDelay(4, DEFAULT_BACKOFF, () => 0), 0);
  t.equal(fullJitterDelay(4, DEFAULT_BACKOFF, () => 0.999999), 3_999);
  t.equal(fullJitterDelay(2, { baseMs: 10, capMs: 25 }, () => 0.5), 12);
});
