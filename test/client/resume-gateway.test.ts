// The SDK's resumption tickets against real gateways on a real nats-server
// (docs/CLIENT.md "Resumption"; the wire: docs/PROTOCOL.md section 13): a receiving
// client that reconnects authenticates with its ticket (the gateway's
// hushwire_auth_resumes_total{result="resumed"} counts it) and still receives mail;
// gateways with their own ticket keys show their own resume_key, so the client never
// presents one gateway's ticket at the other: it signs once at each, keeps a ticket per
// resume key and resumes at both alternately, with no refusal at all; with a shared
// --resume-key-file both show the same resume_key and one ticket resumes at either;
// resume: false and send-only clients never ask; no ticket or secret in the profile's
// files; an opted-out device's ticket is refused. The scripted-gateway version of the
// flow, with every op checked: resume-flow.test.ts.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient } from '../../client/index.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { freshNumber, registerHandset, sendText, reader } from '../helpers/handsets.ts';
import { connectRaw } from '../helpers/raw.ts';
import { tempDir } from '../helpers/temp.ts';
import { resumeProof } from '../../relay/crypto/resume.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { readDevice } from '../../client/profile-data.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { until } from './fake-gateway.ts';

t.setTimeout(300_000);
const skip = !haveNatsServer() && 'nats-server not installed';

/** Gateways on one nats-server of their own, sharing an OPRF key (and, with `resumeKeyFile`,
 *  their ticket keys; else each draws its own). */
async function gateways(t: Test, n: number, prefix: string, extra: Record<string, unknown> = {}): Promise<TestGateway[]> {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  const out: TestGateway[] = [];
  for (let i = 0; i < n; i++) {
    const gw = await startTestGateway({ nats: [server.url], oprfKeyFile: key, natsPrefix: prefix, mailboxShards: 1, logLevel: 'warn', ...extra });
    t.teardown(() => gw.close());
    out.push(gw);
  }
  return out;
}

async function resumes(gw: TestGateway, result: 'resumed' | 'refused' | 'failed'): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_resumes_total');
  const m = new RegExp(`result="${result}"} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

async function ticketsIssued(gw: TestGateway): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_resume_tickets_issued_total');
  return Number(/hushwire_resume_tickets_issued_total (\d+)/.exec(text)?.[1] ?? 0);
}

const sum = async (gws: TestGateway[], f: (g: TestGateway) => Promise<number>) => (await Promise.all(gws.map(f))).reduce((a, b) => a + b, 0);

/** The client's private parts a test looks through: its socket, its held tickets (by
 *  the resume key, hex, each was issued under). */
interface Insides {
  conn: { ws: { terminate(): void } | null };
  resumption: { tickets: Map<string, { ticket: Uint8Array; secret: Uint8Array }> };
}
const insides = (c: HushwireClient) => c as unknown as Insides;

/** A copy of the ticket and secret the client holds, its only one (close() wipes the
 *  secret). */
function heldCopy(c: HushwireClient): { ticket: Uint8Array; secret: Uint8Array } {
  const all = [...insides(c).resumption.tickets.values()];
  if (all.length !== 1) throw new Error(`${all.length} tickets held, not one`);
  const h = all[0]!;
  return { ticket: h.ticket.slice(), secret: h.secret.slice() };
}

/** Ends the client's socket under it (as a dead network would) and waits until it is
 *  connected again on another socket (not for the state to pass through a disconnected
 *  one: a resumed reconnect can be over between two polls). */
async function dropSocket(c: HushwireClient): Promise<void> {
  const old = insides(c).conn.ws!;
  old.terminate();
  await until(() => insides(c).conn.ws !== old && insides(c).conn.ws !== null && c.connectionState === 'connected', 30_000, 'connected again on a new socket');
}

/** Which of `gws` holds the client's connection (the one whose metric moved). */
async function gatewayOf(gws: TestGateway[], f: (g: TestGateway) => Promise<number>, expect: number): Promise<TestGateway> {
  for (const g of gws) if (await f(g) === expect) return g;
  throw new Error('no gateway counted it');
}

function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(p, readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

t.test('a receiving client that loses its socket resumes with its ticket and still receives; nothing of it on disk', { skip }, async (t) => {
  const gws = await gateways(t, 1, 'rsg1');
  const gw = gws[0]!;
  const a = await registerHandset([gw.url], freshNumber());
  const b = await registerHandset([gw.url], freshNumber());
  const r = await reader(t, a, gws);
  await until(() => r.client.resumeStats.issued === 1, 10_000, 'a ticket');
  t.equal(await ticketsIssued(gw), 1, 'one ticket issued, to the receiving client');
  await sendText(b, a.number, 'before');
  await until(() => r.texts.length === 1, 15_000, 'the first message');

  await dropSocket(r.client);
  t.equal(await resumes(gw, 'resumed'), 1, 'the gateway counted a resumed auth');
  t.equal(r.client.resumeStats.resumed, 1);
  await sendText(b, a.number, 'after resuming');
  await until(() => r.texts.length === 2, 15_000, 'the message after resuming');
  t.same(r.texts, ['before', 'after resuming']);

  await dropSocket(r.client);
  t.equal(await resumes(gw, 'resumed'), 2, 'and again');
  t.equal(await resumes(gw, 'refused') + await resumes(gw, 'failed'), 0);
  t.equal(await ticketsIssued(gw), 1, 'the senders (receive: false) asked for none, and a fresh ticket is not renewed');

  // Neither the ticket nor its secret, in hex or base64, in any file of the profile.
  const held = heldCopy(r.client);
  await r.client.close();
  const files = filesOf(a.profileDir);
  t.ok(files.has(join(a.profileDir, 'device.json')) && files.has(join(a.profileDir, 'state.json')), 'device.json and state.json written');
  for (const [path, text] of files) {
    for (const b of [held.ticket, held.secret]) {
      for (const enc of ['hex', 'base64', 'base64url'] as const) {
        if (text.includes(Buffer.from(b).toString(enc).slice(0, 24))) t.fail(`ticket or secret in ${path} (${enc})`);
      }
      if (text.includes(Buffer.from(b).toString('latin1').slice(0, 24))) t.fail(`ticket or secret bytes in ${path}`);
    }
    t.notMatch(text, /ticket|resum/i, `${path}: no ticket field`);
  }
  t.notOk('resume' in (await readDevice(new DirectoryStore(a.profileDir))), 'device.json as read has no resume field');
});

t.test('two gateways with their own keys, alternated: the ticket of one is never shown to the other; one signed auth and one ticket at each, then each resumes its own; no refusal at all', { skip }, async (t) => {
  const gws = await gateways(t, 2, 'rsg2');
  const a = await registerHandset([gws[0]!.url], freshNumber());
  const b = await registerHandset([gws[0]!.url], freshNumber());
  const r = await reader(t, a, gws);
  await until(() => r.client.resumeStats.issued === 1, 10_000, 'a ticket');
  const first = await gatewayOf(gws, ticketsIssued, 1);
  const other = gws.find((g) => g !== first)!;
  // A dropped socket (1006) moves to the next gateway in the list: the other one, whose
  // ticket key, and so resume_key, is its own.
  await dropSocket(r.client);
  t.equal(await resumes(other, 'refused'), 0, "the first's ticket was not presented at the other");
  t.equal(await resumes(other, 'resumed'), 0, 'signed there');
  await until(() => r.client.resumeStats.issued === 2, 10_000, 'a new ticket, from the other gateway');
  t.equal(await ticketsIssued(other), 1);
  await sendText(b, a.number, 'after the signed connect');
  await until(() => r.texts.length === 1, 15_000, 'the message after the signed connect');
  // Back to the first gateway and on, alternating: each gateway is shown the ticket
  // issued under its resume key, and resumes it.
  for (let round = 1; round <= 3; round++) {
    await dropSocket(r.client);
    t.equal(await resumes(first, 'resumed'), round, `round ${round}: resumed at the first gateway with its own ticket`);
    await dropSocket(r.client);
    t.equal(await resumes(other, 'resumed'), round, `round ${round}: resumed at the other with its own`);
  }
  t.equal(await sum(gws, (g) => resumes(g, 'refused')), 0, 'no refusal at all');
  t.equal(await sum(gws, (g) => resumes(g, 'failed')), 0, 'never a failed proof');
  t.same([await ticketsIssued(first), await ticketsIssued(other)], [1, 1], 'one ticket from each, never asked again');
  const s = r.client.resumeStats;
  t.same([s.resumed, s.refused, s.issued, s.held, s.holding], [6, 0, 2, 2, true], 'client: 6 resumed, 0 refused, one ticket per resume key held');
  await sendText(b, a.number, 'after alternating');
  await until(() => r.texts.length === 2, 15_000, 'a message after the alternating reconnects');
  t.equal(r.client.connectionState, 'connected');
});

t.test('gateways sharing --resume-key-file (the same resume_key): one ticket resumes at either, no refusal', { skip }, async (t) => {
  const keyFile = join(tempDir('hw-rk-'), 'resume.keys');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const gws = await gateways(t, 2, 'rsg3', { resumeKeyFile: keyFile });
  const a = await registerHandset([gws[0]!.url], freshNumber());
  const r = await reader(t, a, gws);
  await until(() => r.client.resumeStats.issued === 1, 10_000, 'a ticket');
  for (let i = 0; i < 4; i++) await dropSocket(r.client);
  t.equal(await sum(gws, (g) => resumes(g, 'resumed')), 4, 'every reconnect resumed');
  t.ok((await resumes(gws[0]!, 'resumed')) === 2 && (await resumes(gws[1]!, 'resumed')) === 2, 'two at each gateway');
  t.equal(await sum(gws, (g) => resumes(g, 'refused')), 0, 'no refusal');
  t.equal(await sum(gws, ticketsIssued), 1, 'one ticket issued in all');
  const s = r.client.resumeStats;
  t.same([s.resumed, s.refused, s.requested, s.held], [4, 0, 1, 1], "one ticket, the first gateway's, used at both: none asked of the second");
});

t.test('resume: false never asks for a ticket, nor does a send-only client', { skip }, async (t) => {
  const gws = await gateways(t, 1, 'rsg4');
  const gw = gws[0]!;
  const a = await registerHandset([gw.url], freshNumber());
  const b = await registerHandset([gw.url], freshNumber());
  const r = await reader(t, a, gws, { resume: false });
  await sendText(b, a.number, 'one');
  await until(() => r.texts.length === 1, 15_000, 'a message');
  await dropSocket(r.client);
  await sendText(b, a.number, 'two');
  await until(() => r.texts.length === 2, 15_000, 'a message after the reconnect');
  t.equal(await ticketsIssued(gw), 0, 'no ticket issued to anyone');
  t.equal(await resumes(gw, 'resumed') + await resumes(gw, 'refused'), 0, 'every auth signed');
  t.same({ ...r.client.resumeStats }, { resumed: 0, refused: 0, authFailed: 0, requested: 0, issued: 0, failed: 0, lastError: '', holding: false, held: 0 });
});

t.test('a client whose connection resumed can opt out: its unregister carries the identity signature the gateway then requires', { skip }, async (t) => {
  const gws = await gateways(t, 1, 'rsg6');
  const gw = gws[0]!;
  const a = await registerHandset([gw.url], freshNumber());
  const r = await reader(t, a, gws);
  await until(() => r.client.resumeStats.issued === 1, 10_000, 'a ticket');
  await dropSocket(r.client);
  t.equal(await resumes(gw, 'resumed'), 1, 'the connection it opts out on was resumed, not signed');
  await r.client.unregister();
  await t.rejects(readDevice(new DirectoryStore(a.profileDir)), { code: ErrorCode.NOT_REGISTERED }, 'the profile no longer holds the device');
  t.equal(r.client.connectionState, 'closed');
});

t.test("an opted-out device's ticket is refused", { skip }, async (t) => {
  const gws = await gateways(t, 1, 'rsg5');
  const gw = gws[0]!;
  const a = await registerHandset([gw.url], freshNumber());
  const r = await reader(t, a, gws);
  await until(() => r.client.resumeStats.issued === 1, 10_000, 'a ticket');
  const held = heldCopy(r.client);
  const device = await readDevice(new DirectoryStore(a.profileDir));
  await r.client.unregister();
  t.equal(r.client.resumeStats.holding, false, 'the client forgot it');
  // Presented anyway (a copy kept by someone): the gateway refuses it, the device being gone.
  const c = await connectRaw(gw.url);
  t.teardown(() => c.close());
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, auth: { route: device.route, device: device.device, ticket: held.ticket, proof: resumeProof(held.secret, ch.nonce, device.route, device.device) } }]);
  const answer = await c.reply(1);
  t.equal(answer.error?.code, ErrorCode.RESUME_REFUSED, 'refused');
  t.equal(await resumes(gw, 'refused'), 1);
  t.equal(await resumes(gw, 'resumed'), 0);
});
