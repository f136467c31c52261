// The gateway reads an inbound envelope as offsets into its frame (relay/frame-in.ts)
// and writes the relayed envelope straight from them (relay/relayed-envelope.ts
// encodeRelayedIn). Whatever legal protobuf layout a client uses for an envelope, the
// recipient must get the same relayed envelope: fields in any order, unknown fields
// inside, a field repeated (the last wins), a client's server_ts (replaced), the route
// and device apart or together (the recipient cache's two key forms), and a send whose
// op carries an unknown field (decoded by the generated code, then the same path).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw, varint } from '../helpers/raw-device.ts';
import { wire } from '../../relay/wire.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const ld = (field: number, body: Uint8Array | number[]): number[] => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const vi = (field: number, v: number): number[] => [...varint(field << 3), ...varint(v)];
const hex = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString('hex');

const gw = await startTestGateway({ logLevel: 'warn' });
t.teardown(() => gw.close());
const { c: ra, dev: sender } = await registerRaw(gw.url, '+15557770001');
ra.close();
const { c: rb, dev: recipient } = await registerRaw(gw.url, '+15557770002');
rb.close();

interface Parts { id: Uint8Array; enc: Uint8Array; ct: Uint8Array }
const parts = (): Parts => ({ id: rnd(16), enc: rnd(32), ct: rnd(200) });
const R = () => recipient.route;
const D = () => recipient.device;

/** Envelope layouts: each returns the Envelope message's bytes. */
const layouts: [string, (p: Parts) => number[]][] = [
  ['canonical order', (p) => [...vi(1, 1), ...ld(2, R()), ...ld(3, D()), ...ld(4, p.id), ...vi(5, 1), ...ld(6, p.enc), ...ld(7, p.ct)]],
  ['reversed order', (p) => [...ld(7, p.ct), ...ld(6, p.enc), ...vi(5, 1), ...ld(4, p.id), ...ld(3, D()), ...ld(2, R()), ...vi(1, 1)]],
  ['device before route, apart', (p) => [...ld(3, D()), ...vi(1, 1), ...ld(4, p.id), ...ld(2, R()), ...vi(5, 1), ...ld(6, p.enc), ...ld(7, p.ct)]],
  ['unknown fields inside', (p) => [...vi(1, 1), ...ld(2, R()), ...ld(40, [1, 2, 3]), ...ld(3, D()), ...vi(41, 99), ...ld(4, p.id), ...vi(5, 1), ...ld(6, p.enc), ...ld(7, p.ct)]],
  ['repeated fields: the last wins', (p) => [...vi(1, 7), ...ld(2, rnd(32)), ...ld(4, rnd(16)), ...vi(1, 1), ...ld(2, R()), ...ld(3, D()), ...ld(4, p.id), ...vi(5, 1), ...ld(6, p.enc), ...ld(7, rnd(50)), ...ld(7, p.ct)]],
  ['a client server_ts', (p) => [...vi(1, 1), ...ld(2, R()), ...ld(3, D()), ...ld(4, p.id), ...vi(5, 1), ...ld(6, p.enc), ...ld(7, p.ct), ...vi(8, 12345)]],
];

t.test('every layout: delivered, and the recipient gets the same relayed envelope', async (t) => {
  const a = await authenticateRaw(gw.url, sender);
  const b = await authenticateRaw(gw.url, recipient);
  t.teardown(() => { a.close(); b.close(); });
  let req = 100;
  const cases: [string, (p: Parts) => number[], boolean][] = [
    ...layouts.map(([n, f]) => [n, f, false] as [string, (p: Parts) => number[], boolean]),
    // the same layouts in an op with an unknown field: the generated decoder's path
    ...layouts.map(([n, f]) => [`${n}, op with an unknown field`, f, true] as [string, (p: Parts) => number[], boolean]),
  ];
  for (const [name, layout, otherPath] of cases) {
    const p = parts();
    const r = ++req;
    const send = ld(1, layout(p));
    const op = [...vi(1, r), ...(otherPath ? vi(60, 1) : []), ...ld(25, send)];
    const before = Date.now();
    a.sendRaw(new Uint8Array(ld(1, op)));
    const got = await b.next((o) => o.body === 'deliver' && (o.deliver?.envelopes ?? []).some((e) => hex(e.id) === hex(p.id)));
    const env = got.deliver!.envelopes.find((e) => hex(e.id) === hex(p.id))!;
    b.send([{ req: 0, deliverAck: { ids: [env.id!] } }]);
    const receipt = (await a.reply(r)).sendResult?.receipts[0];
    t.equal(receipt?.status, 'delivered', `${name}: delivered`);
    t.equal(hex(receipt?.id), hex(p.id), `${name}: the receipt names the envelope`);
    t.same(
      [env.version, env.suite, hex(env.enc), hex(env.ciphertext), hex(env.route), hex(env.device)],
      [1, 1, hex(p.enc), hex(p.ct), '', ''],
      `${name}: same fields, no route or device`,
    );
    const ts = Number(env.serverTs);
    t.ok(ts >= before - 1000 && ts <= Date.now() + 1000, `${name}: server_ts is the gateway's (${ts})`);
    // and the relayed bytes are canonical: exactly what the generated encoder writes
    const relayed = wire.Envelope.encode({ version: 1, id: p.id, suite: 1, enc: p.enc, ciphertext: p.ct, serverTs: env.serverTs }).finish();
    t.equal(hex(wire.Envelope.encode(env).finish()), hex(relayed), `${name}: canonical relayed encoding`);
  }
});

t.test('wrong lengths get the same receipts as before, in the same order of checks', async (t) => {
  const a = await authenticateRaw(gw.url, sender);
  t.teardown(() => a.close());
  const p = parts();
  const base = { version: 1, route: R(), device: D(), id: p.id, suite: 1, enc: p.enc, ciphertext: p.ct };
  const cases: [string, Record<string, unknown>, string][] = [
    ['version 2', { ...base, version: 2 }, 'BAD_REQUEST'],
    ['suite 0', { ...base, suite: 0 }, 'BAD_REQUEST'],
    ['route of 31 bytes', { ...base, route: rnd(31) }, 'BAD_TOKEN'],
    ['no device', { ...base, device: new Uint8Array(0) }, 'BAD_TOKEN'],
    ['id of 15 bytes', { ...base, id: rnd(15) }, 'BAD_REQUEST'],
    ['enc of 31 bytes', { ...base, enc: rnd(31) }, 'BAD_REQUEST'],
    ['ciphertext of 15 bytes', { ...base, ciphertext: rnd(15) }, 'BAD_REQUEST'],
    ['bad version and bad route: the version is checked first', { ...base, version: 9, route: rnd(3) }, 'BAD_REQUEST'],
  ];
  let req = 200;
  for (const [name, env, code] of cases) {
    a.send([{ req: ++req, send: { envelopes: [env] } }]);
    const rc = (await a.reply(req)).sendResult?.receipts[0];
    t.same([rc?.status, rc?.code], ['failed', code], name);
    t.equal(hex(rc?.id), hex(env['id'] as Uint8Array), `${name}: the receipt carries the id sent`);
  }
});
