import t from 'tap';
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateServerKey, evaluateBlinded, serverRouteForNumber } from '../../relay/crypto/oprf.ts';
import { loadRouteBook, ROUTES_FILE } from '../../client/routebook.ts';
import { Discovery } from '../../client/discovery.ts';
import type { OpProps } from '../../relay/wire.ts';
import { tempDir } from '../helpers/temp.ts';

const KEY = new Uint8Array(32).fill(7);
const OTHER = new Uint8Array(32).fill(8);
const route = (v: number) => new Uint8Array(32).fill(v);

function tmp(): string {
  return tempDir('hw-routes-');
}

t.test('routes persist (0600) and come back under the same key only', async (t) => {
  const dir = tmp();
  const book = await loadRouteBook(dir, KEY);
  await book.set('+15550100001', route(1));
  t.equal(statSync(join(dir, ROUTES_FILE)).mode & 0o777, 0o600);
  const again = await loadRouteBook(dir, KEY);
  t.same(again.get('+15550100001'), route(1));
  const other = await loadRouteBook(dir, OTHER);
  t.equal(other.get('+15550100001'), undefined, 'another OPRF key: nothing carried over');
});

t.test('damaged or foreign entries are dropped, not trusted', async (t) => {
  const dir = tmp();
  writeFileSync(join(dir, ROUTES_FILE), '{not json', { mode: 0o600 });
  t.equal((await loadRouteBook(dir, KEY)).size, 0);
  writeFileSync(join(dir, ROUTES_FILE), JSON.stringify({ version: 1, oprfPublicKey: '07'.repeat(32), routes: { '+15550100001': 'zz', 'not a number': '01'.repeat(32), '+15550100002': '02'.repeat(32) } }), { mode: 0o600 });
  const book = await loadRouteBook(dir, KEY);
  t.equal(book.size, 1);
  t.same(book.get('+15550100002'), route(2));
});

t.test('the book is bounded; recently used routes stay', async (t) => {
  const dir = tmp();
  const book = await loadRouteBook(dir, KEY, 2);
  await book.set('+15550100001', route(1));
  await book.set('+15550100002', route(2));
  book.get('+15550100001');
  await book.set('+15550100003', route(3));
  t.equal(book.size, 2);
  t.ok(book.get('+15550100001'));
  t.equal(book.get('+15550100002'), undefined, 'least recently used evicted');
  await book.settled();
  t.same(Object.keys(JSON.parse(readFileSync(join(dir, ROUTES_FILE), 'utf8')).routes).sort(), ['+15550100001', '+15550100003']);
});

t.test('discovery asks the gateway once per number, ever (budget), then uses the book', async (t) => {
  const dir = tmp();
  const key = generateServerKey();
  let evaluations = 0;
  const request = async (op: unknown): Promise<OpProps> => {
    const o = op as OpProps;
    if (o.evaluate) {
      evaluations++;
      return { evaluated: evaluateBlinded(key, o.evaluate.blinded!) };
    }
    throw new Error('unexpected op');
  };
  const book = await loadRouteBook(dir, key.publicKey);
  const first = new Discovery(request, key.publicKey, { routeStore: book });
  const r1 = await first.routeFor('+15550100001');
  t.same(Buffer.from(r1), Buffer.from(serverRouteForNumber(key, '+15550100001')));
  t.equal(evaluations, 1);
  // routeFor does not wait for the book's write; a fixed sleep here failed on a loaded
  // machine, so wait for the write itself.
  await book.settled();
  const second = new Discovery(request, key.publicKey, { routeStore: await loadRouteBook(dir, key.publicKey), routeTtlMs: 1 });
  t.same(Buffer.from(await second.routeFor('+15550100001')), Buffer.from(r1), 'a new process: from the book');
  t.equal(evaluations, 1, 'no second evaluate');
});
