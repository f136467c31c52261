// The portable SDK (hushwire/client/portable) in a real browser: the scenario of
// test/fixtures/portable-scenario.ts (register two devices, discover, send both ways,
// each message once, stay connected through an idle stretch on ping ops, reconnect after
// the gateway closes every socket, opt out), bundled for the browser with esbuild and
// run by headless Chromium (Debian's chromium-headless-shell, driven by playwright-core)
// against a real gateway on each transport. The page is served from a loopback HTTP
// server, so its WebSockets carry a real Origin: the gateway lists it in
// --allowed-origins, and a second gateway that does not refuses it (HTTP 403, which the
// browser cannot show: UNAVAILABLE). No Buffer, no Node: what a PWA has.
// `npm test` installs chromium-headless-shell when no Chromium is found; elsewhere set
// HUSHWIRE_CHROMIUM to a Chromium binary, or the test skips saying so.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { checkPortableSteps } from '../helpers/portable-steps.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { CloseCode } from '../../relay/errors.ts';
import { PROFILE_RECORDS } from '../../client/store.ts';

const ENTRY = join(ROOT, 'test', 'fixtures', 'portable-browser.ts');
const IDB_ENTRY = join(ROOT, 'test', 'fixtures', 'indexeddb-page.ts');
const RUN_MS = 150_000;
// The file runs two pages of up to RUN_MS each and four IndexedDB pages (~60 s in all
// alone): tap's default 120 s per file ran out on a loaded machine (CI, this session).
t.setTimeout(600_000);
const CANDIDATES = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium', '/usr/lib/chromium/chromium'];

function chromiumPath(): string | null {
  const env = process.env.HUSHWIRE_CHROMIUM;
  if (env) return env;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

const executablePath = chromiumPath();
const skip = executablePath ? false : `no Chromium (${CANDIDATES.join(', ')}; npm test installs chromium-headless-shell; or set HUSHWIRE_CHROMIUM)`;
const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];

let seq = 0;
function number(): string {
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(8000 + ++seq).padStart(4, '0')}`;
}

/** `p`, or a failure after RUN_MS. */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${RUN_MS / 1000} s`)), RUN_MS); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A page script, bundled for the browser (a Node import would fail the build). */
async function bundle(entry: string): Promise<string> {
  const r = await build({
    entryPoints: [entry], absWorkingDir: ROOT, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** What answers `/gate` (a page's synchronous request, which holds its main thread until answered). */
let onGate: (res: ServerResponse) => void = (res) => { res.end(); };

/** Serves one page per script on loopback (`/name` loads `/name.js`); resolves with the origin. */
async function serve(scripts: Record<string, string>): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.slice(1);
    const js = path.endsWith('.js') ? scripts[path.slice(0, -3)] : undefined;
    if (path === 'gate') {
      onGate(res);
    } else if (js !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (scripts[path] !== undefined) {
      const html = `<!doctype html><meta charset="utf-8"><title>hushwire ${path}</title><script type="module" src="/${path}.js"></script>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { origin: `http://127.0.0.1:${addr.port}`, server };
}

/** A page in a fresh browser context (closed at the test's end), or in `shared`, and the errors it logs. */
async function openPage(t: Test, browser: Browser, shared?: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  let context = shared;
  if (context === undefined) {
    const own = await browser.newContext();
    t.teardown(() => own.close());
    context = own;
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { page, errors };
}

t.test('portable SDK in headless Chromium', { skip }, async (t) => {
  const { origin, server } = await serve({ handsets: await bundle(ENTRY), idb: await bundle(IDB_ENTRY) });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const browser: Browser = await chromium.launch({ executablePath: executablePath!, args: ['--no-sandbox'], timeout: 30_000 });
  t.teardown(() => browser.close());

  for (const transport of transports) {
    await t.test(`against a gateway on ${transport}`, async (t) => {
      const gw = await startTestGateway({ transport, allowedOrigins: [origin] });
      t.teardown(() => gw.close());
      const foreign = await startTestGateway({ transport, allowedOrigins: ['https://pwa.example'] });
      t.teardown(() => foreign.close());
      const [a, b, nobody] = [number(), number(), number()];

      const { page, errors } = await openPage(t, browser);

      const steps = new Map<string, Record<string, unknown>>();
      let finished: () => void = () => {};
      const end = new Promise<void>((resolve) => { finished = resolve; });
      await page.exposeFunction('hwOut', (json: string): string => {
        const o = JSON.parse(json) as Record<string, unknown>;
        steps.set(String(o.step), o);
        if (o.step === 'kick') {
          // The gateway closes every socket (as a restarting gateway would: 1001).
          gw.relay.closeAll(CloseCode.GOING_AWAY, 'going away');
          return 'kicked';
        }
        if (o.step === 'done' || o.step === 'failed') finished();
        return 'ok';
      });
      const query = new URLSearchParams({ gateway: gw.url, foreign: foreign.url, numbers: [a, b, nobody].join(',') });
      await page.goto(`${origin}/handsets?${query.toString()}`, { timeout: 30_000 });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([end, new Promise<void>((resolve) => { timer = setTimeout(resolve, RUN_MS); })]);
      clearTimeout(timer);

      t.ok(steps.has('done') || steps.has('failed'), `the page finished within ${RUN_MS / 1000} s`);
      t.match(steps.get('page'), { origin, userAgent: /HeadlessChrome|Chrome/, buffer: 'undefined', process: 'undefined' }, 'a real browser page: no Buffer, no process');
      t.match(steps.get('foreign-origin'), { code: 'UNAVAILABLE', message: /^no gateway reachable/, records: 0 }, 'a gateway whose allow-list leaves the page out: UNAVAILABLE, nothing stored');
      checkPortableSteps(t, steps, a, b);
      // Connection errors the browser logs by itself (the refused upgrades above) are expected;
      // anything else logged as an error, and any uncaught page error, is not.
      const unexpected = errors.filter((e) => !/WebSocket connection to .* failed/.test(e));
      t.same(unexpected, [], 'no page error and no unexpected console error');
    });
  }

  /** Opens the IndexedDB page with `query` in `page` and waits for its one result. */
  async function idbPhase(page: Page, query: Record<string, string>): Promise<Record<string, unknown>> {
    let result: Record<string, unknown> | undefined;
    let finished: () => void = () => {};
    const end = new Promise<void>((resolve) => { finished = resolve; });
    const listen = (json: string): string => {
      result = JSON.parse(json) as Record<string, unknown>;
      finished();
      return 'ok';
    };
    idbListener = listen;
    await page.goto(`${origin}/idb?${new URLSearchParams(query).toString()}`, { timeout: 30_000 });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([end, new Promise<void>((resolve) => { timer = setTimeout(resolve, RUN_MS); })]);
    clearTimeout(timer);
    return result ?? { step: 'failed', error: `no result within ${RUN_MS / 1000} s` };
  }
  let idbListener: (json: string) => string = () => 'ok';
  const idbContext = await browser.newContext();
  t.teardown(() => idbContext.close());
  const { page: idbPage, errors: idbErrors } = await openPage(t, browser, idbContext);
  // Exposed once per page: it survives navigations, so each load reports through it.
  await idbPage.exposeFunction('hwOut', (json: string) => idbListener(json));
  const tag = `${process.pid}-${Date.now()}`;

  await t.test('IndexedDbStore: the ProfileStore contract in Chromium', async (t) => {
    const r = await idbPhase(idbPage, { phase: 'contract', tag });
    t.equal(r.step, 'contract', `the contract ran (${String(r.error ?? '')})`);
    t.match(r, {
      isProfileStore: true,
      deleteMissing: 'RESOLVED',
      bigLength: 1 << 20,
      unknownRecordWrite: 'BAD_REQUEST',
      notAString: 'BAD_REQUEST',
      afterDestroyElsewhere: 'BAD_REQUEST',
      lockAfterMuteQuery: 'free',
      badTimeout: 'BAD_REQUEST',
      noIndexedDb: 'BAD_REQUEST',
      badExclusive: 'BAD_REQUEST',
    }, 'reads, whole replaces, deletes, a megabyte record, refusals, close, reopen with the data, a destroy from elsewhere not blocked, the lock let go after timeoutMs when the lock manager does not answer');
    // t.match takes an array pattern as a prefix: the lists are compared whole.
    const lists = ['emptyAtFirst', 'replaced', 'unknownRecord', 'afterClose', 'reopened', 'badName'];
    t.same(Object.fromEntries(lists.map((k) => [k, r[k]])), {
      emptyAtFirst: PROFILE_RECORDS.map(() => null),
      replaced: ['one', 'two'],
      unknownRecord: ['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST'],
      afterClose: ['BAD_REQUEST', 'BAD_REQUEST'],
      reopened: ['{"secret":"kept"}', 1 << 20],
      badName: ['BAD_REQUEST', 'BAD_REQUEST'],
    }, 'each list whole, nothing after what it should hold');
    t.match(r, {
      firstExclusive: true,
      secondOpen: 'BAD_REQUEST',
      afterSteal: { lostCalls: 1, firstExclusive: false, firstRead: 'BAD_REQUEST', thiefExclusive: true, thiefRead: '["wss://a.example/ws"]' },
      sharedExclusive: false,
      afterThiefClosed: true,
    }, 'one holder per profile: a second open refused, a steal closes the first (onLockLost once), a close frees it, exclusive: false takes no lock');
    // JSON has no undefined: a missing record came back as undefined, so its key is absent or null.
    t.equal(r.independent ?? null, null, 'records are independent');
    t.equal(r.deleted ?? null, null, 'a deleted record reads as none');
    t.equal(r.freshAfterDestroy ?? null, null, 'a destroyed profile opens empty');
  });

  await t.test('IndexedDbStore: shared records under Web Locks (exclusive: false)', async (t) => {
    const r = await idbPhase(idbPage, { phase: 'records', tag });
    t.equal(r.step, 'records', `the phase ran (${String(r.error ?? '')})`);
    t.match(r, {
      otherRecord: 'granted',
      heldWhileTaken: true,
      grantedAfterRelease: true,
      timeout: 'TIMEOUT',
      afterTimeout: 'RESOLVED',
      notShared: 'BAD_REQUEST',
      closedLock: 'BAD_REQUEST',
    }, "one holder per record and store pair, another record's lock free, a wait past timeoutMs TIMEOUT (and nothing held after it), only the shared records");
    t.equal(r.saveWaited, true, "a key book's save waits for the record's lock another store holds");
    t.same(r.merged, ['verified', 'unverified'], "a save made while another store's save held the record keeps both (the verification and the other's new contact)");
  });

  await t.test('IndexedDbStore: one tab per profile', async (t) => {
    // A second page of the same origin (same browser context): Web Locks are per origin.
    const { page: other, errors: otherErrors } = await openPage(t, browser, idbContext);
    let lost: Record<string, unknown> | undefined;
    let sawLost: () => void = () => {};
    const lostSeen = new Promise<void>((resolve) => { sawLost = resolve; });
    let held: Record<string, unknown> | undefined;
    const heldSeen = new Promise<void>((resolve) => {
      idbListener = (json) => {
        const o = JSON.parse(json) as Record<string, unknown>;
        if (o.step === 'hold' || o.step === 'failed') { held = o; resolve(); }
        if (o.step === 'lost') { lost = o; sawLost(); }
        return 'ok';
      };
    });
    await idbPage.goto(`${origin}/idb?${new URLSearchParams({ phase: 'hold', tag }).toString()}`, { timeout: 30_000 });
    await within(heldSeen, 'the first page holds the profile');
    t.match(held, { step: 'hold', exclusive: true }, 'the first page holds the profile');
    // The first page is busy (its main thread held by a synchronous request to /gate)
    // from before the second page steals the profile until that page has asked for the
    // database's delete: both the steal and the delete's versionchange then wait in its
    // queues, and Chromium runs the versionchange first. A page of a loaded machine
    // meets that order by chance (a CI run: the first page never heard of the steal).
    let openGate: () => void = () => {};
    const gateHeld = new Promise<void>((resolve) => {
      onGate = (res) => { openGate = () => { openGate = () => {}; res.end('open'); }; resolve(); };
    });
    t.teardown(() => { openGate(); onGate = (res) => { res.end(); }; });
    void idbPage.evaluate("{ const x = new XMLHttpRequest(); x.open('GET', '/gate', false); x.send(); }").catch(() => {});
    await within(gateHeld, 'the first page waits at the gate');
    let taken: Record<string, unknown> | undefined;
    const takenSeen = new Promise<void>((resolve) => {
      void other.exposeFunction('hwOut', (json: string) => {
        const o = JSON.parse(json) as Record<string, unknown>;
        if (o.step === 'deleting') {
          openGate();
        } else {
          openGate();
          taken = o;
          resolve();
        }
        return 'ok';
      });
    });
    await other.goto(`${origin}/idb?${new URLSearchParams({ phase: 'take', tag }).toString()}`, { timeout: 30_000 });
    await within(takenSeen, 'the second page');
    await within(lostSeen, 'the first page hears it lost the profile');
    t.match(taken, { step: 'take', refused: 'BAD_REQUEST', read: '["wss://held.example/ws"]' }, 'the second page is refused, then takes the profile over and reads it');
    t.match(lost, { step: 'lost', readAfter: 'BAD_REQUEST' }, 'the first page is told (onLockLost) and its store is closed');
    t.same(otherErrors, [], 'no page error in the second page');
  });

  await t.test('profiles in IndexedDB survive a page reload; nothing is shown twice', async (t) => {
    const gw = await startTestGateway({ transport: transports[0], allowedOrigins: [origin] });
    t.teardown(() => gw.close());
    const [carol, dave] = [number(), number()];
    const base = { gateway: gw.url, numbers: [carol, dave].join(','), tag };
    const one = await idbPhase(idbPage, { ...base, phase: 'one' });
    t.equal(one.step, 'one', `before the reload (${String(one.error ?? '')})`);
    t.match(one, { sent: /^(delivered|stored)$/, atCarol: [[dave, 'before the reload'], [dave, 'after the rotation']] });
    t.same(one.atCarol, [[dave, 'before the reload'], [dave, 'after the rotation']], 'before the reload, each shown once (t.match above takes the array as a prefix)');
    t.match(one.rotated, { changed: true, retired: [true] }, 'a rotation: new prekey, the old one retired, in IndexedDB');
    t.same((one.rotated as { retired?: unknown } | undefined)?.retired, [true], 'one prekey retired, not more');
    // The next navigation unloads the page: its sockets close, nothing was closed by the app.
    const two = await idbPhase(idbPage, { ...base, phase: 'two' });
    t.equal(two.step, 'two', `after the reload (${String(two.error ?? '')})`);
    t.same(two.devices, one.devices, 'the same two devices, opened from IndexedDB without registering again');
    t.same(two.prekeyInDb, { current: (one.rotated as { current: string }).current, retired: 1 }, 'the rotated prekey and the retired one read back from IndexedDB');
    t.equal(two.sent, 'stored', 'Carol was offline: stored');
    t.same(two.atCarol, [[dave, 'after the reload']], 'the stored message arrives, the one from before the reload is not shown again');
    t.same(two.left, ['gateways.json'], 'opt-out leaves only gateways.json in the store');
    t.equal(one.verified, 'verified', 'Dave verified Carol by safety number in the browser');
    t.equal(two.verifiedAfterReload, 'verified', 'the verification read back from IndexedDB (keys.json) after the reload');
    t.same(idbErrors, [], 'no page error and no console error');
  });
});
