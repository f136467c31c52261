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
import t from 'tap';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { checkPortableSteps } from '../helpers/portable-steps.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { CloseCode } from '../../relay/errors.ts';

const ENTRY = join(ROOT, 'test', 'fixtures', 'portable-browser.ts');
const RUN_MS = 150_000;
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

/** The page script, bundled for the browser (a Node import would fail the build). */
async function bundle(): Promise<string> {
  const r = await build({
    entryPoints: [ENTRY], absWorkingDir: ROOT, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** Serves the page and its script on loopback; resolves with the origin. */
async function serve(script: string): Promise<{ origin: string; server: Server }> {
  const html = '<!doctype html><meta charset="utf-8"><title>hushwire portable SDK</title><script type="module" src="/handsets.js"></script>';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else if (path === '/handsets.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { origin: `http://127.0.0.1:${addr.port}`, server };
}

t.test('portable SDK in headless Chromium', { skip }, async (t) => {
  const { origin, server } = await serve(await bundle());
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

      const context = await browser.newContext();
      t.teardown(() => context.close());
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });

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
      await page.goto(`${origin}/?${query.toString()}`, { timeout: 30_000 });
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
});
