// --admin-listen: /metrics, /healthz and /readyz on a listener of their own; the public
// port then keeps the probes and stops serving /metrics. Real gateways on loopback.
import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway.ts';
import { httpBase, httpStatus, within } from '../helpers/poll.ts';
import { CloseCode } from '../../relay/errors.ts';
import { connectRaw } from '../helpers/raw.ts';
import { freePorts } from '../../bench/ports.ts';

const freePort = async (): Promise<number> => (await freePorts(1))[0]!;
import { resolveConfig, ConfigError } from '../../gateway/config.ts';
import { parseListen } from '../../gateway/admin-server.ts';

t.test('parseListen: host:port and [v6]:port, nothing else', async (t) => {
  t.same(parseListen('127.0.0.1:9480'), { host: '127.0.0.1', port: 9480 });
  t.same(parseListen('[::1]:9480'), { host: '::1', port: 9480 });
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9480', '127.0.0.1', '127.0.0.1:', ':9480', '127.0.0.1:70000', '::1:9480', 'http://127.0.0.1:9480', '127.0.0.1:94a0', '']) {
    t.equal(parseListen(bad), null, JSON.stringify(bad));
  }
});

t.test('config: a bad --admin-listen is one line naming the flag', async (t) => {
  t.throws(() => resolveConfig({ adminListen: '9480' }, {}), new ConfigError('--admin-listen must be HOST:PORT (e.g. 127.0.0.1:9480, [::1]:9480)'));
  t.throws(() => resolveConfig({ adminListen: '127.0.0.1:8480' }, {}), /must differ/);
  t.equal(resolveConfig({}, {}).adminListen, undefined, 'off by default');
  t.equal(resolveConfig({}, { HUSHWIRE_ADMIN_LISTEN: '127.0.0.1:9481' }).adminListen, '127.0.0.1:9481');
});

t.test('metrics move to the admin listener; the probes answer on both', async (t) => {
  // A long auth deadline: the drain's sockets below stay until it moves them or the test
  // closes them.
  const gw = await startTestGateway({ logLevel: 'warn', adminListen: '127.0.0.1:0', authTimeoutMs: 120_000 });
  let closed = false;
  t.teardown(() => (closed ? undefined : gw.close()));
  t.type(gw.adminPort, 'number');
  const pub = httpBase(gw.url);
  const adm = `http://127.0.0.1:${gw.adminPort}`;
  t.equal(await httpStatus(`${pub}/metrics`), 404, 'public port: no /metrics');
  t.equal(await httpStatus(`${pub}/healthz`), 200);
  t.equal(await httpStatus(`${pub}/readyz`), 200);
  const res = await fetch(`${adm}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/plain/);
  const text = await res.text();
  t.match(text, /^hushwire_bus_state\{state="connected"\} 1$/m, 'the gateway\'s metrics, scrape-time gauges set');
  t.equal(await httpStatus(`${adm}/healthz`), 200);
  t.equal(await httpStatus(`${adm}/readyz`), 200);
  t.equal(await httpStatus(`${adm}/ws`), 404, 'no WebSocket or anything else there');
  t.equal((await fetch(`${adm}/metrics`, { method: 'POST' })).status, 405);

  // Draining (twenty sockets moved away at 1 per second, so the drain outlasts the checks
  // by far): both listeners answer 503 on /readyz meanwhile and the admin one still serves
  // /metrics; once the gateway is gone, the admin port is closed too.
  const sockets = await Promise.all(Array.from({ length: 20 }, () => connectRaw(gw.url)));
  t.teardown(() => { for (const s of sockets) s.close(); });
  const draining = gw.drain({ timeoutMs: 60_000, ratePerSecond: 1 });
  const first = await within(Promise.race(sockets.map((s) => s.closed)), 20_000, 'the drain to move a first socket');
  t.equal(first.code, CloseCode.DRAINING, 'the drain is moving sockets');
  t.equal(await httpStatus(`${adm}/readyz`), 503, 'admin /readyz 503 while draining');
  t.equal(await httpStatus(`${pub}/readyz`), 503, 'public /readyz 503 while draining');
  t.match(await (await fetch(`${adm}/metrics`)).text(), /^hushwire_draining 1$/m, 'a scrape during the drain sees it');
  // The devices leave (as they would once moved): the drain ends with the last.
  for (const s of sockets) s.close();
  await within(draining, 30_000, 'the drain to end once every socket is gone');
  closed = true;
  t.equal(await httpStatus(`${adm}/readyz`), 0, 'admin listener closed with the gateway (connection refused)');
});

t.test('without --admin-listen the public port serves /metrics as before', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  t.equal(gw.adminPort, null);
  t.equal(await httpStatus(`${httpBase(gw.url)}/metrics`), 200);
});

t.test('an admin address in use fails the start, naming the flag, and the public port is closed again', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as AddressInfo).port;
  const publicPort = await freePort();
  await t.rejects(startTestGateway({ logLevel: 'warn', port: publicPort, adminListen: `127.0.0.1:${port}` }), /--admin-listen: could not listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  t.equal(await httpStatus(`http://127.0.0.1:${publicPort}/healthz`), 0, 'the WebSocket port it had opened is closed (connection refused)');
});

for (const transport of ['ws', 'uws'] as const) {
  t.test(`${transport}: a public port in use fails the start naming --port, with what to do`, async (t) => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as AddressInfo).port;
    // ws has the system's code; uWebSockets.js gives none, only that the bind failed.
    const what = transport === 'ws' ? 'EADDRINUSE' : 'address in use or not available';
    await t.rejects(startTestGateway({ logLevel: 'warn', transport, port }), { message: `--port: could not listen on 127.0.0.1:${port}: ${what} (another gateway on this host? give each its own --port, or port 0 for any free one)` });
  });
}
