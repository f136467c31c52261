// Acceptance: an end-to-end encrypted text crosses gateways, live and from the mailbox,
// through the real SDK, on a real nats-server (two gateways) and on the embedded bus
// (one gateway), on every transport that loads. While it runs, every NATS message is
// captured with a `>` subscription and every gateway log line is kept; neither may hold
// a phone number, a message text or key material.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText, type Handset } from '../helpers/handsets.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { HushwireClient } from '../../client/index.ts';

const hasUws = await uwsAvailable();
const transports: ('uws' | 'ws')[] = hasUws ? ['uws', 'ws'] : ['ws'];

let numberSeq = 0;
function freshNumber(): string {
  // A distinct, valid E.164 number per handset (US 555 range).
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++numberSeq).padStart(4, '0')}`;
}

/** Every form of secret a leak check looks for: numbers in several forms, texts, keys. */
function secretsOf(handsets: Handset[], texts: string[]): string[] {
  const out: string[] = [...texts];
  for (const h of handsets) {
    const digits = h.number.slice(1);
    out.push(h.number, digits, digits.slice(1)); // E.164, without +, national (NANP)
    const dev = JSON.parse(readFileSync(join(h.profileDir, 'device.json'), 'utf8')) as Record<string, unknown>;
    // Secret keys and the full route id (public keys are meant to be in the directory).
    for (const k of ['identitySecret', 'prekeySecret', 'route']) {
      const v = dev[k];
      if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new Error(`profile lacks ${k}`);
      out.push(v);
    }
  }
  return out;
}

function assertNoLeak(t: Test, where: string, haystack: string, secrets: string[]) {
  const leaked = secrets.filter((s) => haystack.includes(s));
  t.same(leaked, [], `no number, text or key in ${where}`);
}

/** Text, hex and base64 views of captured bytes, so a leak in any encoding is seen. */
function views(chunks: Uint8Array[]): string {
  return chunks.map((c) => {
    const b = Buffer.from(c);
    return `${b.toString('latin1')}\n${b.toString('hex')}\n${b.toString('base64')}`;
  }).join('\n');
}

async function rejectsWithCode(t: Test, p: Promise<unknown>, code: string) {
  try {
    await p;
    t.fail(`expected ${code}`);
  } catch (e) {
    t.ok(e instanceof HushwireError, 'a HushwireError');
    t.equal((e as HushwireError).code, code);
  }
}

async function flows(t: Test, gwA: TestGateway, gwB: TestGateway, capture?: () => string) {
  const a = await registerHandset([gwA.url], freshNumber());
  const b = await registerHandset([gwB.url], freshNumber());
  const texts = ['live hello ' + Math.random(), 'offline one ' + Math.random(), 'offline two ' + Math.random(), 'offline three ' + Math.random()];

  // Live: B is connected while A sends.
  const lb = await listen(b);
  const r = await sendText(a, b.number, texts[0]!);
  t.equal(r.status, 'delivered', 'live send acknowledged as delivered');
  const [m] = await lb.waitFor(1);
  t.equal(m!.text, texts[0]);
  t.equal(m!.from, a.number, 'sender number came from inside the envelope');
  t.equal(m!.id, r.id);
  await lb.close();

  // Offline: B is gone; A sends three; each is stored durably.
  for (const text of texts.slice(1)) {
    const s = await sendText(a, b.number, text);
    t.equal(s.status, 'stored', 'offline send acknowledged as stored');
  }
  const lb2 = await listen(b);
  const got = await lb2.waitFor(3);
  t.same(got.map((x) => x.text).sort(), texts.slice(1).sort(), 'exactly those 3 arrive');
  t.equal(new Set(got.map((x) => x.id)).size, 3, 'once each');
  t.same(await lb2.quiet(1500), [], 'and nothing more');
  await lb2.close();
  const lb3 = await listen(b);
  t.same(await lb3.quiet(1500), [], 'listening again yields nothing more');
  await lb3.close();

  // Unknown recipient: a clear NOT_REGISTERED.
  await rejectsWithCode(t, sendText(a, freshNumber(), 'to nobody'), ErrorCode.NOT_REGISTERED);

  const secrets = secretsOf([a, b], texts); // before opt-out deletes B's device.json
  // Opt-out: B unregisters; sends to B's number then fail with NOT_REGISTERED.
  const cb = await HushwireClient.open(b.profileDir);
  await cb.connect();
  await cb.unregister();
  await cb.close();
  await rejectsWithCode(t, sendText(a, b.number, 'after opt-out'), ErrorCode.NOT_REGISTERED);

  assertNoLeak(t, 'gateway logs', gwA.logs() + gwB.logs(), secrets);
  if (capture) assertNoLeak(t, 'NATS traffic (subjects, headers, payloads)', capture(), secrets);
}

t.test('embedded bus, one gateway', async (t) => {
  for (const transport of transports) {
    await t.test(transport, async (t) => {
      const gw = await startTestGateway({ transport });
      t.teardown(() => gw.close());
      t.equal(gw.bus.kind, 'embedded');
      await flows(t, gw, gw);
    });
  }
});

t.test('NATS, two gateways', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  // Capture everything that crosses NATS, JetStream API and KV traffic included.
  const spy = await connect({ servers: server.url });
  t.teardown(() => spy.close());
  const seen: Uint8Array[] = [];
  const subjects: string[] = [];
  spy.subscribe('>', {
    callback: (_err, msg) => {
      subjects.push(msg.subject);
      seen.push(new TextEncoder().encode(msg.subject));
      if (msg.headers) seen.push(new TextEncoder().encode(msg.headers.toString()));
      seen.push(msg.data);
    },
  });
  await spy.flush();
  const capture = () => views(seen);

  for (const [i, pair] of [[transports[0]!, transports[transports.length - 1]!]].entries()) {
    await t.test(`gateway 1 on ${pair[0]}, gateway 2 on ${pair[1]}`, async (t) => {
      const g1 = await startTestGateway({ transport: pair[0], nats: server.url, oprfKeyFile: key, name: `g1-${i}` });
      const g2 = await startTestGateway({ transport: pair[1], nats: server.url, oprfKeyFile: key, name: `g2-${i}` });
      t.teardown(async () => { await g1.close(); await g2.close(); });
      t.equal(g1.bus.kind, 'nats');
      await flows(t, g1, g2, capture);
    });
  }
  t.ok(subjects.some((s) => /^hw\.dev\.[0-9a-f]{32}\.[0-9a-f]{32}$/.test(s)), 'live deliveries used per-device subjects');
  t.ok(subjects.some((s) => /^hw\.mbox\.\d{1,2}\.[0-9a-f]{32}\.[0-9a-f]{32}$/.test(s)), 'mailbox used per-device subjects (in the route\'s shard)');
  for (const s of subjects) {
    t.notMatch(s, /[ *>]|\.\./, 'no wildcard or empty token in a published subject');
  }
});
