// Discovery that can't be mined (docs/PRIVACY.md), on a real nats-server with two
// gateways: the SDK's contact sync finds registered numbers; known and unknown numbers
// get answers of the same size on the wire (single and batched lookups, whatever the
// device count); the budgets are shared by the gateways (a device cannot get a fresh
// one elsewhere) and over budget means RATE_LIMITED with retry_after_ms.
import t from 'tap';
import WebSocket from 'ws';
import { startTestGateway, oprfKeyFile, warmEvaluator } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { HushwireClient, HushwireError } from '../../client/index.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { fixedDevicesSize } from '../../relay/privacy/lookup.ts';
import { wire } from '../../relay/wire.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  let seq = 0;
  const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(7000 + ++seq).padStart(4, '0')}`;
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  const budgets = { discoveryFirstSync: 12, discoveryDaily: 3, discoveryRouteDaily: 40, maxDevicesPerRoute: 3 };
  const a = await startTestGateway({ nats: server.url, oprfKeyFile: key, name: 'da', ...budgets });
  const b = await startTestGateway({ nats: server.url, oprfKeyFile: key, name: 'db', ...budgets });
  t.teardown(async () => { await a.close(); await b.close(); });
  // Not in the first subtest's registrations, under their deadlines: in a parallel run,
  // starting the two gateways' OPRF workers there took most of its 8-21 s (the next
  // subtest's four registrations: 0.1-1.3 s), and it failed once.
  await Promise.all([warmEvaluator(a), warmEvaluator(b)]);

  t.test('contact sync through the SDK: registered and unknown numbers', async (t) => {
    const me = await registerHandset([a.url], freshNumber());
    const friend1 = freshNumber();
    const friend2 = freshNumber();
    await registerHandset([a.url], friend1);
    await registerHandset([b.url], friend2);
    await registerHandset([b.url], friend2); // two devices
    const strangers = [freshNumber(), freshNumber(), freshNumber()];
    const client = await HushwireClient.open(me.profileDir, { gateways: [b.url] });
    t.teardown(() => client.close());
    const res = await client.discover([friend1, ...strangers, friend2, friend1]);
    t.equal(res.size, 5, 'one answer per distinct number');
    t.same(res.get(friend1), { registered: true, devices: 1 });
    t.same(res.get(friend2), { registered: true, devices: 2 });
    for (const s of strangers) t.same(res.get(s), { registered: false, devices: 0 });
  });

  t.test('known and unknown numbers look alike on the wire', async (t) => {
    const known1 = await registerRaw(a.url, freshNumber());
    const known3 = await registerRaw(a.url, freshNumber());
    await registerRaw(a.url, known3.dev.number);
    await registerRaw(a.url, known3.dev.number);
    const c = await authenticateRaw(b.url, known1.dev);
    // Raw frame sizes as they arrive (what a network observer sees, less TLS overhead).
    const sizes: number[] = [];
    c.ws.on('message', (d: WebSocket.RawData) => sizes.push((d as Buffer).length));
    const unknownRoute = new Uint8Array(32).fill(9);
    const routes = [known1.dev.route, known3.dev.route, unknownRoute];
    const answers = [];
    for (let i = 0; i < routes.length; i++) {
      c.send([{ req: 100 + i, lookup: { route: routes[i]! } }]);
      answers.push(await c.reply(100 + i));
    }
    t.same(answers.map((x) => x.devices!.devices.length), [1, 3, 0], 'one device, three devices, unknown');
    const encoded = answers.map((x) => wire.Devices.encode(x.devices!).finish().length);
    t.same(new Set(encoded).size, 1, `one answer size (${encoded.join(', ')})`);
    t.equal(encoded[0], fixedDevicesSize(3));
    t.equal(new Set(sizes.slice(-3)).size, 1, `one frame size on the wire (${sizes.slice(-3).join(', ')})`);

    c.send([{ req: 200, lookup: { routes } }]);
    const batch = (await c.reply(200)).devicesBatch!.results;
    t.same(batch.map((r) => (r.devices ?? []).length), [1, 3, 0], 'batched: in order');
    t.equal(new Set(batch.map((r) => wire.Devices.encode(r).finish().length)).size, 1, 'batched: one size per result');
    c.send([{ req: 201, lookup: { routes: Array.from({ length: 129 }, () => unknownRoute) } }]);
    t.equal((await c.reply(201)).error?.code, ErrorCode.BAD_REQUEST, 'at most 128 routes per batch');
    c.send([{ req: 202, lookup: { routes: [new Uint8Array(5)] } }]);
    t.equal((await c.reply(202)).error?.code, ErrorCode.BAD_TOKEN);
    c.close();
  });

  t.test('budgets are shared by the gateways', async (t) => {
    const me = await registerRaw(a.url, freshNumber());
    me.c.close();
    const evaluate = async (url: string, n: number, req: number) => {
      const c = await authenticateRaw(url, me.dev);
      c.send([{ req, evaluate: { blinded: blindNumbers(Array.from({ length: n }, () => freshNumber())).blinded } }]);
      const r = await c.reply(req);
      c.close();
      return r;
    };
    t.equal((await evaluate(a.url, 8, 1)).body, 'evaluated', '8 on gateway A');
    t.equal((await evaluate(b.url, 4, 2)).body, 'evaluated', '4 more on gateway B: the first-sync budget (12) is used up');
    const over = await evaluate(b.url, 1, 3);
    t.equal(over.error?.code, ErrorCode.RATE_LIMITED, 'the 13th is refused on B');
    t.equal(over.error!.message, 'discovery budget of this device used up (12 numbers in its first 24 h)', 'in plain words, not the metric\'s label (discovery_device)');
    t.ok(over.error!.retryAfterMs > 0 && over.error!.retryAfterMs <= 24 * 3600 * 1000, `retry_after_ms ${over.error!.retryAfterMs}`);
    t.equal((await evaluate(a.url, 1, 4)).error?.code, ErrorCode.RATE_LIMITED, 'and on A');
    const m = await a.metrics.registry.getSingleMetricAsString('hushwire_rate_limited_total');
    t.match(m, /limit="discovery_device"\} [1-9]/, 'counted under limit="discovery_device"');
  });

  t.test('a refusal says which budget in plain words: a batch past what is left, the route\'s budget', async (t) => {
    // Its own gateway: a route budget (3) below the device's (12), which a's and b's
    // settings never reach.
    const gw = await startTestGateway({ oprfKeyFile: key, name: 'dr', discoveryFirstSync: 12, discoveryDaily: 3, discoveryRouteDaily: 3, maxDevicesPerRoute: 3 });
    t.teardown(() => gw.close());
    await warmEvaluator(gw);
    const number = freshNumber();
    const one = await registerRaw(gw.url, number);
    const two = await registerRaw(gw.url, number);
    one.c.close();
    two.c.close();
    const evaluate = async (dev: typeof one.dev, n: number, req: number) => {
      const c = await authenticateRaw(gw.url, dev);
      c.send([{ req, evaluate: { blinded: blindNumbers(Array.from({ length: n }, () => freshNumber())).blinded } }]);
      const r = await c.reply(req);
      c.close();
      return r;
    };
    t.equal((await evaluate(one.dev, 2, 1)).body, 'evaluated', '2 of the number\'s 3 by its first device');
    const past = await evaluate(two.dev, 2, 2);
    t.equal(past.error?.code, ErrorCode.RATE_LIMITED, '2 more by its second device: refused');
    t.equal(past.error?.message, 'discovery budget of this phone number (all its devices together) has room for 1 more number, not the 2 asked for (3 numbers per 24 h)');
    t.equal((await evaluate(two.dev, 1, 3)).body, 'evaluated', 'the 1 left passes');
    const spent = await evaluate(one.dev, 1, 4);
    t.equal(spent.error?.message, 'discovery budget of this phone number (all its devices together) used up (3 numbers per 24 h)');
    t.notOk(/discovery_|[0-9a-f]{16}/.test(`${past.error?.message} ${spent.error?.message}`), 'no metric label, no id');
    const m = await gw.metrics.registry.getSingleMetricAsString('hushwire_rate_limited_total');
    t.match(m, /limit="discovery_route"\} 2/, 'the metric keeps its label (discovery_route)');
  });

  t.test('the SDK reports RATE_LIMITED with a retry-after', async (t) => {
    const me = await registerHandset([a.url], freshNumber());
    const client = await HushwireClient.open(me.profileDir);
    t.teardown(() => client.close());
    try {
      await client.discover(Array.from({ length: 13 }, () => freshNumber()));
      t.fail('should be refused');
    } catch (e) {
      t.ok(e instanceof HushwireError && e.code === ErrorCode.RATE_LIMITED, 'RATE_LIMITED');
      t.ok((e as HushwireError).retryAfterMs > 0, 'with retry_after_ms');
    }
  });
}
