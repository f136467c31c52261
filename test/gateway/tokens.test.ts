// relay/tokens.ts: route tags are the documented hash (with and without the cache) and
// device tokens are plain lowercase hex; wrong shapes are BAD_TOKEN.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { routeTag, routeTagUncached, deviceToken, recipientAt, Recipient } from '../../relay/tokens.ts';

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

t.test('recipientAt: the tag, token and key of the route and device bytes in a frame, adjacent or not', async (t) => {
  let bad = 0;
  // more recipients than the cache holds, each asked twice, in both layouts
  const n = 40_000;
  const frames: { data: Uint8Array; route: number; device: number; r: Buffer; d: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const r = randomBytes(32);
    const d = randomBytes(16);
    const pad = i % 7;
    if (i % 2 === 0) {
      // as every encoder writes an envelope: route field, then the device field right after
      const data = Buffer.concat([Buffer.alloc(pad), Buffer.of(0x12, 32), r, Buffer.of(0x1a, 16), d]);
      frames.push({ data, route: pad + 2, device: pad + 36, r, d });
    } else {
      // device first, something between
      const data = Buffer.concat([Buffer.alloc(pad), Buffer.of(0x1a, 16), d, Buffer.of(0x20, 1), Buffer.of(0x12, 32), r]);
      frames.push({ data, route: pad + 22, device: pad + 2, r, d });
    }
  }
  for (const pass of [0, 1]) {
    for (const f of frames) {
      const rc = recipientAt(f.data, f.route, f.device);
      const tag = expected(f.r);
      const dev = f.d.toString('hex');
      if (rc.tag !== tag || rc.device !== dev || rc.key !== `${tag}.${dev}`) bad++;
    }
    t.equal(bad, 0, `pass ${pass}: every recipient right`);
  }
  // the two layouts of the same route and device give the one cached recipient
  const r = randomBytes(32);
  const d = randomBytes(16);
  const a = recipientAt(Buffer.concat([Buffer.of(0x12, 32), r, Buffer.of(0x1a, 16), d]), 2, 36);
  const b = recipientAt(Buffer.concat([Buffer.of(0x1a, 16), d, Buffer.of(0x12, 32), r]), 20, 2);
  t.equal(a, b, 'same recipient object from either layout');
  // a route followed by other bytes that look like a device header but are not that device
  const c = recipientAt(Buffer.concat([Buffer.of(0x12, 32), r, Buffer.of(0x1a, 16), Buffer.alloc(16, 7)]), 2, 36);
  t.not(c, a, 'another device: another recipient');
  t.equal(c.device, '07'.repeat(16));
});

t.test('recipientAt refuses ranges outside the bytes; Recipient.of checks its tokens', async (t) => {
  const data = new Uint8Array(60);
  t.throws(() => recipientAt(data, 30, 0), { code: 'BAD_TOKEN' }, 'route past the end');
  t.throws(() => recipientAt(data, 0, 50), { code: 'BAD_TOKEN' }, 'device past the end');
  t.throws(() => recipientAt(data, -1, 40), { code: 'BAD_TOKEN' }, 'negative start');
  const tag = 'a'.repeat(32);
  const dev = 'b'.repeat(32);
  const rc = Recipient.of(tag, dev);
  t.same([rc.tag, rc.device, rc.key], [tag, dev, `${tag}.${dev}`]);
  for (const [x, y] of [['A'.repeat(32), dev], [tag, 'b'.repeat(31)], [tag, `${'b'.repeat(31)}.`], [tag, '>'.repeat(32)]]) {
    t.throws(() => Recipient.of(x as string, y as string), { code: 'BAD_TOKEN' }, `${x}/${y}`);
  }
  t.throws(() => new Recipient(tag, 'x', undefined as never), TypeError, 'not constructible from outside');
});
