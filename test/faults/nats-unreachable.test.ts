// Fault: NATS is unreachable when a gateway starts. The gateway must start anyway, say
// so in one clear log line (host:port only, never the URL's credentials), answer
// /healthz 200 and /readyz 503, refuse WebSocket upgrades with 503 while it waits, keep
// retrying, and become ready by itself when a nats-server appears on that port. Then an
// acknowledged message sent through it arrives exactly once.
import t from 'tap';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { connectRaw } from '../helpers/raw.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { until, httpStatus, httpBase } from '../helpers/poll.ts';

// Whole-file deadline (default 120 s): a fault run under a loaded CI machine takes longer.
t.setTimeout(300_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('in-process gateway waits for NATS, then serves', async (t) => {
    // A server that existed once: its ports and store are known, and it is stopped.
    const server = await startNatsServer({ t });
    await server.stop();
    const secretUrl = `nats://hwuser:s3cretpass@127.0.0.1:${server.port}`;
    const gw = await startTestGateway({ nats: secretUrl, oprfKeyFile: oprfKeyFile() });
    t.teardown(() => gw.close());
    const base = httpBase(gw.url);

    const lines = (): string[] => gw.logs().split('\n').filter((l) => l !== '');
    const unreachable = lines().filter((l) => l.includes(`NATS unreachable at 127.0.0.1:${server.port}, retrying`));
    t.equal(unreachable.length, 1, 'one clear line says NATS is unreachable and where');
    t.notMatch(gw.logs(), /s3cretpass|hwuser/, 'no credentials in the log');

    t.equal(await httpStatus(`${base}/healthz`), 200, '/healthz 200 while NATS is down');
    t.equal(await httpStatus(`${base}/readyz`), 503, '/readyz 503 while NATS is down');
    await t.rejects(connectRaw(gw.url), /HTTP 503/, 'WebSocket upgrade refused with 503');
    t.equal(gw.bus.status().state, 'starting', 'bus not connected yet: starting, not closed');
    const m = await (await fetch(`${base}/metrics`)).text();
    t.match(m, /hushwire_bus_state\{state="starting"\} 1/, 'hushwire_bus_state says starting');
    t.match(m, /hushwire_bus_state\{state="closed"\} 0/);
    t.match(m, /hushwire_bus_up 0/);

    // Let it retry for a while with nobody there: still one line, still not ready.
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(lines().filter((l) => l.includes('NATS unreachable')).length, 1, 'retries do not flood the log');
    t.equal(await httpStatus(`${base}/readyz`), 503);

    await server.restart(); // nats-server appears on the port the gateway keeps trying
    await until('/readyz 200', async () => (await httpStatus(`${base}/readyz`)) === 200, 30_000, 100);
    t.ok(lines().some((l) => l.includes(`NATS reachable at 127.0.0.1:${server.port}: bus ready`)), 'says when it became ready');
    t.notMatch(gw.logs(), /s3cretpass|hwuser/, 'still no credentials in the log');

    // It now serves: register two handsets through it, send, receive exactly once.
    const c = await connectRaw(gw.url);
    t.equal((await c.next((o) => o.body === 'challenge')).body, 'challenge', 'upgrade accepted once ready');
    c.close();
    const a = await registerHandset([gw.url], '+15553330001');
    const b = await registerHandset([gw.url], '+15553330002');
    const r = await sendText(a, b.number, 'after NATS came up');
    t.equal(r.status, 'stored');
    const lb = await listen(b);
    const got = await lb.waitFor(1, 15_000);
    t.equal(got[0]!.text, 'after NATS came up');
    t.same(await lb.quiet(500), [], 'exactly once');
    await lb.close();
  });

  t.test('`hushwire gateway` process starts with NATS down and becomes ready', async (t) => {
    const server = await startNatsServer({ t });
    await server.stop();
    const gw = await spawnGateway(['--nats', server.url, '--oprf-key-file', oprfKeyFile(), '--transport', 'ws', '--log-level', 'info']);
    t.teardown(() => gw.kill('SIGKILL'));
    const base = httpBase(gw.url);
    await until('the unreachable line', () => gw.output().includes(`NATS unreachable at 127.0.0.1:${server.port}, retrying`), 10_000);
    t.equal(await httpStatus(`${base}/healthz`), 200);
    t.equal(await httpStatus(`${base}/readyz`), 503);
    await server.restart();
    await until('/readyz 200', async () => (await httpStatus(`${base}/readyz`)) === 200, 30_000, 100);
    t.pass('ready without a restart of the gateway');
    t.equal(await gw.kill('SIGTERM'), 0, 'drains and exits 0');
  });

  t.test('SIGTERM while still waiting for NATS exits 0', async (t) => {
    const server = await startNatsServer({ t });
    await server.stop();
    const gw = await spawnGateway(['--nats', server.url, '--oprf-key-file', oprfKeyFile(), '--transport', 'ws', '--log-level', 'info']);
    t.teardown(() => gw.kill('SIGKILL'));
    await until('the unreachable line', () => gw.output().includes('NATS unreachable at'), 10_000);
    t.equal(await gw.kill('SIGTERM'), 0, 'stops retrying, closes and exits 0');
  });
}
