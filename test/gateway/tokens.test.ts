// relay/tokens.ts: route tags are the documented hash (with and without the cache) and
// device tokens are plain lowercase hex; wrong shapes are BAD_TOKEN.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { routeTag, routeTagUncached, deviceToken } from '../../relay/tokens.ts';

const expected = (route: Uint8Array): string =>
  createHash('sha256').update(Buffer.from('hushwire route tag v1\0')).update(route).digest().subarray(0, 16).toString('hex');

t.test('routeTag = first 16 bytes of SHA-256("hushwire route tag v1" 0 || route), cached or not', async (t) => {
  const routes = Array.from({ length: 70_000 }, () => new Uint8Array(randomBytes(32)));
  let bad = 0;
  // more routes than the cache holds, each asked twice (second time from the cache, or
  // recomputed after it was dropped)
  for (const r of routes) if (routeTag(r) !== expected(r)) bad++;
  for (const r of routes.slice(0, 1000)) if (routeTag(r) !== expected(r)) bad++;
  for (const r of routes.slice(-1000)) if (routeTag(r) !== expected(r)) bad++;
  t.equal(bad, 0);
});

t.test('routeTagUncached (the authentication path) gives the same tag, cached route or not', async (t) => {
  let bad = 0;
  for (let i = 0; i < 500; i++) {
    const r = new Uint8Array(randomBytes(32));
    if (routeTagUncached(r) !== expected(r)) bad++; // not in the cache
    routeTag(r); // now in the cache
    if (routeTagUncached(r) !== expected(r)) bad++;
  }
  t.equal(bad, 0);
  const view = new Uint8Array(randomBytes(40)).subarray(5, 37);
  t.equal(routeTagUncached(view), expected(view), 'a route given as a view at an offset');
  t.throws(() => routeTagUncached(new Uint8Array(31)), { code: 'BAD_TOKEN' });
});

t.test('deviceToken is lowercase hex of the 16 bytes', async (t) => {
  const d = new Uint8Array(randomBytes(16));
  t.equal(deviceToken(d), Buffer.from(d).toString('hex'));
  t.match(deviceToken(d), /^[0-9a-f]{32}$/);
});

t.test('wrong shapes are BAD_TOKEN', async (t) => {
  for (const v of [new Uint8Array(31), new Uint8Array(33), 'x'.repeat(32), null, [1, 2]]) {
    t.throws(() => routeTag(v as never), { code: 'BAD_TOKEN' });
  }
  for (const v of [new Uint8Array(15), new Uint8Array(17), 'x'.repeat(16), undefined]) {
    t.throws(() => deviceToken(v as never), { code: 'BAD_TOKEN' });
  }
});
