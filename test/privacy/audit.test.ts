// The privacy audit (docs/PRIVACY.md, "How it is checked"). A whole deployment on
// loopback: a real nats-server (JetStream on disk), an OPRF evaluator process
// (`hushwire oprf`, the only key holder) and two gateways using it. Handsets register
// (one number twice: a new-device notice), sync a contact list, send live and offline
// messages, a raw client connects from another loopback address, and one handset opts
// out; a raw device gets a resumption ticket at one gateway and resumes with it at the
// other (a shared --resume-key-file), its record then holding the tickets' verifiers,
// which no frame to a client (a lookup answer included) carries. Everything an operator
// or an eavesdropper could keep is captured:
//   - every NATS message (a `>` subscription: subjects, headers, payloads),
//   - the JetStream files on disk (after a clean server stop, so all is flushed),
//   - the gateway logs and the evaluator's output (debug level),
//   - /metrics of both gateways and of the evaluator,
// and none of it may hold a phone number in any common form, a plain SHA-256 of one,
// a message text, the contact list, key material (handset secrets, the OPRF key, the
// ticket key and what is derived from it, tickets and their secrets),
// a full route id, or the client's IP (logs and metrics); the opted-out handset's
// tokens must be gone from the store; mailbox headers carry only what routing needs,
// Nats-Msg-Id is not the envelope id, and ciphertexts come in the padding buckets.
//
// The audit must be able to fail: the self-check at the end plants a leak in each
// channel (a JetStream message, a NATS message, a gateway log line, a metric label)
// and asserts the same scanner finds it.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Gauge } from 'prom-client';
import { bytesToHex } from '@noble/hashes/utils.js';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, BIN, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText, type Handset } from '../helpers/handsets.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/x25519.ts';
import { ticketSecret, resumeProof, resumeVerifier } from '../../relay/crypto/resume.ts';
import { resumeKeyFromTicketKey } from '../../relay/relay.ts';
import { until } from '../helpers/poll.ts';
import { HushwireClient, type Notice } from '../../client/index.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { PAD_BUCKETS } from '../../relay/crypto/pad.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { wire, type DirectoryDevice } from '../../relay/wire.ts';
import {
  numberNeedles, textNeedle, bytesNeedles, scanBytes, scanTree, report, type Needle, type Finding,
} from './scan.ts';
import { tempDir } from '../helpers/temp.ts';

const CLIENT_IP = '127.0.0.2'; // the raw client's source address: must not be logged

interface Captured {
  subject: string;
  headers: Array<[string, string]>;
  data: Uint8Array;
  /** Had a reply subject (on hw.dev.*: a live request, else a control message). */
  reply?: boolean;
}

interface Secrets {
  everywhere: Needle[];   // never in NATS, the store, logs or metrics
  logsAndMetrics: Needle[]; // identifiers the bus may carry as tokens but logs/metrics may not
  storeAfterOptOut: Needle[]; // the opted-out handset's tokens and keys
}

let seq = 0;
function freshNumber(): string {
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(9000 + ++seq).padStart(4, '0')}`;
}

function profileSecrets(h: Handset): { identitySecret: Uint8Array; prekeySecret: Uint8Array; route: Uint8Array; device: Uint8Array } {
  const dev = JSON.parse(readFileSync(join(h.profileDir, 'device.json'), 'utf8')) as Record<string, string>;
  const b = (k: string): Uint8Array => {
    const v = dev[k];
    if (typeof v !== 'string' || !/^[0-9a-f]+$/.test(v)) throw new Error(`profile lacks ${k}`);
    return new Uint8Array(Buffer.from(v, 'hex'));
  };
  return { identitySecret: b('identitySecret'), prekeySecret: b('prekeySecret'), route: b('route'), device: b('device') };
}

function scanCaptured(where: string, msgs: Captured[], needles: Needle[]): Finding[] {
  const out: Finding[] = [];
  for (const m of msgs) {
    out.push(...scanBytes(`${where} subject ${m.subject.slice(0, 40)}`, Buffer.from(m.subject), needles));
    out.push(...scanBytes(`${where} headers on ${m.subject.slice(0, 40)}`, Buffer.from(m.headers.map(([k, v]) => `${k}: ${v}`).join('\n')), needles));
    out.push(...scanBytes(`${where} payload on ${m.subject.slice(0, 40)}`, m.data, needles));
  }
  return out;
}

async function getText(url: string): Promise<string> {
  const r = await fetch(url);
  return r.text();
}

/** Starts `hushwire oprf` as a child process; resolves once it serves. */
async function startEvaluator(natsUrl: string, keyFile: string): Promise<{ proc: ChildProcess; output: () => string; httpPort: number; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, [BIN, 'oprf', '--nats', natsUrl, '--key-file', keyFile, '--port', '0', '--threads', '1', '--log-level', 'debug'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  process.once('exit', () => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  await until('the evaluator to serve', () => /hushwire oprf serving/.test(out) || proc.exitCode !== null, 30_000);
  const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
  if (!m) throw new Error(`evaluator did not start:\n${out}`);
  return {
    proc, output: () => out, httpPort: Number(m[1]),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Registration over the raw protocol from another loopback source address. */
async function registerFrom(localAddress: string, url: string, number: string): Promise<void> {
  const { c, dev } = await registerRaw(url, number, { localAddress });
  c.send([{ req: 3, lookup: { route: dev.route } }]);
  await c.reply(3);
  c.close();
  await c.closed;
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const server = await startNatsServer({ t });

  // ---- capture every NATS message
  const captured: Captured[] = [];
  const spy = await connect({ servers: server.url, name: 'audit-spy' });
  spy.subscribe('>', {
    callback: (_e, m) => {
      const h: Array<[string, string]> = [];
      if (m.headers) for (const [k, vs] of m.headers) for (const v of vs) h.push([k, v]);
      captured.push({ subject: m.subject, headers: h, data: m.data.slice(), reply: m.reply !== '' });
    },
  });
  await spy.flush();

  // ---- the evaluator holds the OPRF key; the gateways pin its public key
  const keyDir = tempDir('hw-audit-');
  const seed = new Uint8Array(randomBytes(32));
  const keyFile = join(keyDir, 'oprf.key');
  writeFileSync(keyFile, `${bytesToHex(seed)}\n`, { mode: 0o600 });
  const oprfKey = deriveServerKey(seed);
  const evaluator = await startEvaluator(server.url, keyFile);
  t.teardown(() => evaluator.stop());
  // Resumption tickets (docs/PROTOCOL.md section 13): both gateways share a ticket key.
  const ticketKey = new Uint8Array(randomBytes(32));
  const ticketKeyFile = join(keyDir, 'resume.keys');
  writeFileSync(ticketKeyFile, `${bytesToHex(ticketKey)}\n`, { mode: 0o600 });
  const gwOpts = { nats: server.url, oprfEvaluator: ['main'], oprfPublicKey: [bytesToHex(oprfKey.publicKey)], logLevel: 'debug', resumeKeyFile: ticketKeyFile };
  const gwA: TestGateway = await startTestGateway({ ...gwOpts, name: 'audit-a' });
  const gwB: TestGateway = await startTestGateway({ ...gwOpts, name: 'audit-b' });
  let gatewaysClosed = false;
  const closeGateways = async (): Promise<void> => {
    if (gatewaysClosed) return;
    gatewaysClosed = true;
    await gwA.close();
    await gwB.close();
  };
  t.teardown(closeGateways);
  await until('the gateways to reach the evaluator', () => /answers with the pinned key/.test(gwA.logs() + gwB.logs()), 20_000).catch(() => undefined);

  // ---- the flows
  const alice = await registerHandset([gwA.url], freshNumber());
  const bob = await registerHandset([gwB.url], freshNumber());
  const carolNumber = freshNumber();
  const carol = await registerHandset([gwA.url], carolNumber);
  // Bob's profile goes with his opt-out: keep what the audit needs to look for first.
  const bobProfile = profileSecrets(bob);
  const extraHandsets: Handset[] = [];
  const strangers = [freshNumber(), freshNumber(), freshNumber()];
  const contacts = [bob.number, carolNumber, ...strangers];
  const texts = ['audit live ' + randomBytes(6).toString('hex'), 'audit offline one ' + randomBytes(6).toString('hex'), 'audit offline two ' + randomBytes(6).toString('hex')];

  /** A raw device's ticket and the secret under it (resumption, in 'flows'), and its route tag. */
  const resumption: { ticket: Uint8Array; secret: Uint8Array }[] = [];
  let resumeRoute = '';

  await t.test('flows', async (t) => {
    // A second device for Carol's number: her first device hears of it.
    const carolNotices: Notice[] = [];
    const carolClient = await HushwireClient.open(carol.profileDir, { onNotice: (n) => carolNotices.push(n) });
    await carolClient.connect();
    const carol2 = await registerHandset([gwB.url], carolNumber);
    extraHandsets.push(carol2);
    await until('Carol\'s notice', () => carolNotices.length > 0, 10_000);
    t.equal(carolNotices[0]!.kind, 'new_device', 'new-device notice');
    await carolClient.close();

    // Contact sync.
    const ac = await HushwireClient.open(alice.profileDir, { gateways: [gwB.url] });
    const found = await ac.discover(contacts);
    await ac.close();
    t.same(contacts.map((n) => found.get(n)?.registered), [true, true, false, false, false], 'contact sync');

    // Live.
    const lb = await listen(bob);
    t.equal((await sendText(alice, bob.number, texts[0]!)).status, 'delivered');
    t.equal((await lb.waitFor(1))[0]!.text, texts[0]);
    await lb.close();

    // Offline, to both of Carol's devices; then one of them reads.
    t.equal((await sendText(alice, carolNumber, texts[1]!)).status, 'stored');
    t.equal((await sendText(alice, carolNumber, texts[2]!)).status, 'stored');
    const lc = await listen(carol2);
    t.same((await lc.waitFor(2)).map((m) => m.text).sort(), texts.slice(1).sort());
    await lc.close();

    // A raw client from another source address.
    await registerFrom(CLIENT_IP, gwA.url, freshNumber());

    // Send-only connections (docs/PROTOCOL.md section 12; sendText above uses them too):
    // Alice's four on one gateway, and a fifth refused (RATE_LIMITED, 1013).
    const held: HushwireClient[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await HushwireClient.open(alice.profileDir, { receive: false, connectAttempts: 1 });
      await c.connect();
      held.push(c);
    }
    const fifth = await HushwireClient.open(alice.profileDir, { receive: false, connectAttempts: 1 });
    await t.rejects(fifth.connect(), { code: 'UNAVAILABLE', message: /send-only connections/ }, 'a fifth send-only connection is refused: connect() gives up UNAVAILABLE, naming the reason');
    await fifth.close();
    for (const c of held) await c.close();

    // Resumption: a raw device asks gateway A for a ticket, resumes with it at B
    // (the shared key file), then asks B for another on the resumed connection.
    {
      const { c: reg, dev } = await registerRaw(gwA.url, freshNumber());
      const ch = (await reg.next((o) => o.body === 'challenge')).challenge!;
      const ask = async (c: RawClient, resumeKey: Uint8Array, req: number): Promise<{ ticket: Uint8Array; secret: Uint8Array }> => {
        const e = x25519KeyPair();
        c.send([{ req, ticketRequest: { publicKey: e.publicKey } }]);
        const r = await c.reply(req);
        if (r.body !== 'ticket') throw new Error(`ticket_request failed: ${JSON.stringify(r.error)}`);
        return { ticket: r.ticket!.ticket, secret: ticketSecret(x25519SharedSecret(e.secretKey, resumeKey), dev.device, e.publicKey, resumeKey) };
      };
      const first = await ask(reg, ch.resumeKey, 40);
      resumption.push(first);
      const r = await connectRaw(gwB.url);
      const chB = (await r.next((o) => o.body === 'challenge')).challenge!;
      r.send([{ req: 41, auth: { route: dev.route, device: dev.device, ticket: first.ticket, proof: resumeProof(first.secret, chB.nonce, dev.route, dev.device) } }]);
      t.equal((await r.reply(41)).body, 'ok', 'resumed at the other gateway with the ticket');
      resumption.push(await ask(r, chB.resumeKey, 42));
      resumeRoute = routeTag(dev.route);
      // The device's record holds each ticket's verifier (a one-way hash of its secret):
      // it never reaches a client, a lookup answer included (the device's own, another's).
      const looker = await connectRaw(gwA.url);
      const chL = (await looker.next((o) => o.body === 'challenge')).challenge!;
      looker.send([{ req: 43, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(chL.nonce, dev.route, dev.device)), sendOnly: true } }]);
      t.equal((await looker.reply(43)).body, 'ok');
      looker.send([{ req: 44, lookup: { route: dev.route } }]);
      r.send([{ req: 45, lookup: { route: dev.route } }]);
      t.equal((await looker.reply(44)).devices?.devices.length, 1, 'the lookup lists the device');
      t.equal((await r.reply(45)).devices?.devices.length, 1);
      const verifiers = resumption.map((h) => Buffer.from(resumeVerifier(h.ticket, h.secret)));
      const frames = [reg, r, looker].flatMap((c) => c.frames);
      t.same(frames.filter((f) => verifiers.some((v) => f.includes(v))).length, 0, `no frame to the device holds a verifier (${frames.length} frames, lookup answers included)`);
      looker.close();
      await looker.closed;
      reg.close();
      r.close();
      await Promise.all([reg.closed, r.closed]);
    }

    // Bob opts out, with a send-only connection of his open on the same gateway (closed
    // 4006 by it).
    const bs = await HushwireClient.open(bob.profileDir, { receive: false });
    await bs.connect();
    const bc = await HushwireClient.open(bob.profileDir);
    await bc.connect();
    await bc.unregister();
    await until('Bob\'s send-only connection to be closed', () => bs.connectionState === 'closed', 10_000);
    await bs.close();
  });

  // ---- what the audit looks for
  const secrets: Secrets = { everywhere: [], logsAndMetrics: [], storeAfterOptOut: [] };
  for (const [label, n] of [['alice', alice.number], ['bob', bob.number], ['carol', carolNumber], ...strangers.map((s, i) => [`stranger ${i + 1}`, s])] as Array<[string, string]>) {
    secrets.everywhere.push(...numberNeedles(label, n));
  }
  texts.forEach((x, i) => secrets.everywhere.push(textNeedle(`message text ${i + 1}`, x)));
  secrets.everywhere.push(...bytesNeedles('OPRF key seed', seed), ...bytesNeedles('OPRF secret scalar', oprfKey.secretKey));
  const profiles: Array<[string, ReturnType<typeof profileSecrets>]> = [
    ['alice', profileSecrets(alice)], ['carol', profileSecrets(carol)], ['bob', bobProfile],
    ...extraHandsets.map((h, i): [string, ReturnType<typeof profileSecrets>] => [`extra ${i + 1}`, profileSecrets(h)]),
  ];
  for (const [label, s] of profiles) {
    secrets.everywhere.push(...bytesNeedles(`${label} identity secret`, s.identitySecret), ...bytesNeedles(`${label} prekey secret`, s.prekeySecret));
    secrets.everywhere.push(...bytesNeedles(`${label} full route`, s.route));
    secrets.logsAndMetrics.push(
      { name: `${label} device id (hex)`, bytes: Buffer.from(bytesToHex(s.device)) },
      { name: `${label} route tag`, bytes: Buffer.from(routeTag(s.route)) },
    );
  }
  secrets.logsAndMetrics.push({ name: 'client IP', bytes: Buffer.from(CLIENT_IP) });
  // Resumption: the ticket key, the X25519 secret derived from it, and each ticket and
  // its secret (which only the device and, sealed, the ticket hold).
  secrets.everywhere.push(...bytesNeedles('ticket key', ticketKey), ...bytesNeedles('resume X25519 secret', resumeKeyFromTicketKey(ticketKey)));
  resumption.forEach((h, i) => secrets.everywhere.push(...bytesNeedles(`ticket ${i + 1}`, h.ticket), ...bytesNeedles(`ticket ${i + 1} secret`, h.secret)));

  await t.test('evidence', async (t) => {
    // /metrics while everything runs, then a clean stop so the store is flushed.
    const metrics = {
      a: await getText(`http://127.0.0.1:${gwA.port}/metrics`),
      b: await getText(`http://127.0.0.1:${gwB.port}/metrics`),
      evaluator: await getText(`http://127.0.0.1:${evaluator.httpPort}/metrics`),
    };
    t.ok(metrics.a.includes('hushwire_') && metrics.evaluator.length > 0, 'metrics scraped');

    await closeGateways();
    await evaluator.stop();
    await spy.drain();
    await server.stop();
    const logs = { a: gwA.logs(), b: gwB.logs(), evaluator: evaluator.output() };
    t.ok(logs.a.length > 0 && logs.b.length > 0 && logs.evaluator.includes('OPRF evaluator started'), 'logs captured');
    t.ok(captured.length > 50, `NATS traffic captured (${captured.length} messages)`);

    const all = [...secrets.everywhere];
    const lm = [...secrets.everywhere, ...secrets.logsAndMetrics];
    t.same(report(scanCaptured('nats', captured, all)), [], 'NATS traffic: no number, hash of a number, text, contact, key or full route');
    t.same(report(scanTree(server.storeDir, all)), [], 'JetStream files: none of them either');
    t.same(report(scanBytes('gateway A log', Buffer.from(logs.a), lm)), [], 'gateway A log: none, nor device ids, route tags or the client IP');
    t.same(report(scanBytes('gateway B log', Buffer.from(logs.b), lm)), [], 'gateway B log: the same');
    t.same(report(scanBytes('evaluator log', Buffer.from(logs.evaluator), lm)), [], 'evaluator log: the same');
    for (const [k, v] of Object.entries(metrics)) t.same(report(scanBytes(`${k} /metrics`, Buffer.from(v), lm)), [], `${k} /metrics: the same`);

    // The resumed device's record, as the bus carried it, holds its tickets' verifiers
    // (and, as every channel above, no ticket or secret).
    const records = captured.filter((m) => m.subject === `$KV.hw_dir.${resumeRoute}`);
    t.ok(records.length > 0, 'the resumed device\'s record was seen on the bus');
    const last = records.at(-1)!.data;
    // The second ticket, asked on the connection the first resumed, renews it: its
    // verifier took the first one's place.
    t.same(resumption.map((h) => Buffer.from(last).includes(Buffer.from(resumeVerifier(h.ticket, h.secret)))), [false, true], 'its last revision holds the renewed ticket\'s verifier, not the one it replaced');
    t.ok(records.some((m) => Buffer.from(m.data).includes(Buffer.from(resumeVerifier(resumption[0]!.ticket, resumption[0]!.secret)))), 'an earlier one held the first');

    // Bob opted out: his tokens and public keys (from the directory values his
    // registration wrote) are nowhere in the store.
    const bobNeedles = bobDirectoryNeedles(captured, bytesToHex(bobProfile.device));
    t.ok(bobNeedles.length > 0, 'Bob\'s directory record was seen on the bus');
    t.same(report(scanTree(server.storeDir, bobNeedles)), [], 'nothing of the opted-out handset in the store');

    // Structure of what crossed the bus.
    // Each gateway's start-up permission check (relay/bus/nats.ts, #checkPermissions)
    // publishes nothing on an all-zero device and node subject, and on the announcements'
    // subject, and its bus's probe (relay/bus/nats-heal.ts, every 30 s) nothing on a
    // device subject of its own, route tag all zeros, and on its own node subject: set
    // apart, after checking that they are exactly that.
    const isUnreg = (m: Captured): boolean => m.subject === 'hw.unreg' || m.subject === 'hw.unreg.intent';
    const isProbe = (m: Captured): boolean => /^hw\.(dev\.0{32}\.[0-9a-f]{32}|gw\.0{16})$/.test(m.subject) || ((isUnreg(m) || /^hw\.gw\.[0-9a-f]{16}$/.test(m.subject)) && m.data.length === 0);
    const probes = captured.filter(isProbe);
    t.ok(probes.length >= 4, `the gateways' start-up permission probes were seen (${probes.length})`);
    t.same(probes.filter((m) => m.data.length !== 0 || m.headers.length !== 0 || m.reply), [], 'probes carry no payload, header or reply subject');
    // Every gateway's beats (relay/bus/peer-beats.ts): a random name of the process and a
    // count, nothing of a device; set apart too.
    const isBeat = (m: Captured): boolean => m.subject === 'hw.unreg.beat';
    t.ok(captured.some(isBeat), 'the gateways\' beats were seen');
    t.same(captured.filter((m) => isBeat(m) && (m.headers.length !== 0 || m.reply || !/^([0-9a-f]{16}\.(0|[1-9][0-9]*))?$/.test(new TextDecoder().decode(m.data)))), [], 'beats: a node name and a count (empty: the start-up probe), no header or reply subject');
    const hw = captured.filter((m) => m.subject.startsWith('hw.') && !m.subject.startsWith('hw.oprf.') && !isProbe(m) && !isBeat(m));
    // Opt-outs announced to every gateway (relay/bus/unregistered.ts), as intended before
    // the removal and as done after it: the device's two tokens, as its own subject has
    // them, and nothing else.
    const announcements = hw.filter(isUnreg);
    t.ok(announcements.some((m) => m.subject === 'hw.unreg'), `Bob's opt-out was announced (${announcements.length})`);
    t.ok(announcements.some((m) => m.subject === 'hw.unreg.intent'), 'and announced as intended before');
    t.same(announcements.filter((m) => m.headers.length !== 0 || m.reply || !/^[0-9a-f]{32}\.[0-9a-f]{32}$/.test(new TextDecoder().decode(m.data))), [], 'announcements and intents: a route tag and a device token, no header or reply subject');
    t.same(hw.filter((m) => !isUnreg(m) && !/^hw\.(dev|mbox\.\d{1,2})\.[0-9a-f]{32}\.[0-9a-f]{32}$/.test(m.subject)).map((m) => m.subject), [], 'Hushwire subjects: kind (+ mailbox shard) + two tokens, or the announcements\'');
    // Live requests and control messages share hw.dev.<route tag>.<device>; a live
    // request carries a reply subject, a control message does not.
    const isControl = (m: Captured): boolean => m.subject.startsWith('hw.dev.') && m.reply !== true;
    const headerNames = new Set(hw.flatMap((m) => m.headers.map(([k]) => k)));
    t.same([...headerNames].sort(), ['Nats-Expected-Stream', 'Nats-Msg-Id'], 'headers: only what JetStream needs to store and dedup');
    let envelopes = 0;
    for (const m of hw.filter((x) => /^hw\.(dev|mbox)\./.test(x.subject) && !isControl(x))) {
      const env = wire.Envelope.decode(m.data);
      envelopes++;
      t.equal(env.route.length + env.device.length, 0, 'no route or device inside the envelope on the bus');
      t.ok(PAD_BUCKETS.includes(env.ciphertext.length - 16), `ciphertext in a padding bucket (${env.ciphertext.length})`);
      const msgId = m.headers.find(([k]) => k === 'Nats-Msg-Id')?.[1];
      if (msgId !== undefined) t.not(msgId, bytesToHex(env.id), 'Nats-Msg-Id is not the envelope id');
    }
    t.ok(envelopes >= 3, `envelopes seen on the bus (${envelopes})`);
    // Control messages name no sender and carry no receipt: a kind and, for kick, a
    // random connection id; for notice, a kind and a time.
    const controls = hw.filter(isControl).map((m) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>);
    const shapes = new Set(controls.map((c) => `${String(c['kind'])}:${Object.keys(c).sort().join(',')}`));
    t.ok(controls.some((c) => c['kind'] === 'kick'), 'control messages were seen (kick at every authentication)');
    t.same([...shapes].filter((x) => !['kick:connection,kind', 'unregistered:kind', 'mail:kind', 'notice:atMs,kind,notice'].includes(x)), [],
      `control messages: only kick / unregistered / mail / notice, nothing about a sender (${[...shapes].join(' ')})`);
    // Metric labels: fixed vocabularies only.
    const labelValues = [...Object.values(metrics).join('\n').matchAll(/(\w+)="([^"]*)"/g)].filter((m) => m[1] !== 'le' && m[1] !== 'quantile').map((m) => m[2]!);
    t.same(labelValues.filter((v) => /[0-9a-f]{16,}/i.test(v) || /\d{7,}/.test(v) || /\d+\.\d+\.\d+\.\d+/.test(v)), [], 'no label value looks like an id, a number or an address');
  });

  await t.test('self-check: planted leaks are caught', async (t) => {
    const plantNumber = alice.number;
    const plantHash = createHash('sha256').update(bob.number).digest();
    // 1. A JetStream message on disk.
    await server.restart();
    const nc = await connect({ servers: server.url, name: 'audit-plant' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'AUDIT_PLANT', subjects: ['audit.plant.>'], storage: 'file' });
    const fresh: Captured[] = [];
    const spy2 = await connect({ servers: server.url });
    spy2.subscribe('audit.>', {
      callback: (_e, m) => {
        const hs: Array<[string, string]> = [];
        if (m.headers) for (const [k, vs] of m.headers) for (const v of vs) hs.push([k, v]);
        fresh.push({ subject: m.subject, headers: hs, data: m.data.slice() });
      },
    });
    await spy2.flush();
    const h = natsHeaders();
    h.set('X-Planted', carolNumber.slice(2));
    await jetstream(nc).publish('audit.plant.disk', new TextEncoder().encode(`contact ${plantNumber}`));
    nc.publish('audit.plant.wire', plantHash, { headers: h });
    await nc.flush();
    await until('the planted message on the wire', () => fresh.length >= 2, 10_000);
    await spy2.close();
    await nc.close();
    await server.stop();
    const diskFindings = report(scanTree(server.storeDir, secrets.everywhere));
    t.ok(diskFindings.some((f) => f.startsWith('alice: E.164 @ store:')), `the store scan finds a number in a JetStream file (${diskFindings.length} findings)`);
    const wireFindings = report(scanCaptured('nats', fresh, secrets.everywhere));
    t.ok(wireFindings.some((f) => f.startsWith('bob: sha256(E.164) raw @ nats payload')), 'the NATS scan finds a raw SHA-256 of a number');
    t.ok(wireFindings.some((f) => f.startsWith('carol: national @ nats headers')), 'and a national number in a header');

    // 2. A gateway log line and a metric label (test-only hooks on a live gateway).
    const gw = await startTestGateway({ name: 'audit-plant' });
    t.teardown(() => gw.close());
    const clean = gw.logs();
    gw.log.warn(`planted: contact ${strangers[0]} device ${bytesToHex(profileSecrets(alice).device)}`);
    gw.log.info({ number: strangers[1] }, 'planted under a redacted key');
    const planted = gw.logs().slice(clean.length);
    // Else the redact check below holds for a line that was never written.
    t.match(planted, /"number":"\[redacted\]"[^\n]*"msg":"planted under a redacted key"/, 'the line under a redacted key was logged, its number censored');
    const logFindings = report(scanBytes('planted log', Buffer.from(planted), [...secrets.everywhere, ...secrets.logsAndMetrics]));
    t.ok(logFindings.some((f) => f.startsWith('stranger 1: E.164')), 'the log scan finds a number in a log line');
    t.ok(logFindings.some((f) => f.startsWith('alice device id')), 'and a device id');
    t.notOk(logFindings.some((f) => f.startsWith('stranger 2:')), 'while the redact list keeps a `number` field out');
    new Gauge({ name: 'audit_planted', help: 'planted', labelNames: ['who'], registers: [gw.metrics.registry] }).set({ who: carolNumber.slice(1) }, 1);
    const metricFindings = report(scanBytes('planted metrics', Buffer.from(await getText(`http://127.0.0.1:${gw.port}/metrics`)), secrets.everywhere));
    t.ok(metricFindings.some((f) => f.startsWith('carol: digits without +')), 'the metrics scan finds a number in a label');
  });
}

/** Bob's device id and public keys, read from the directory values the bus carried for
 *  his route (decoded DirectoryEntry on $KV.hw_dir.<tag> publishes holding his device). */
function bobDirectoryNeedles(msgs: Captured[], deviceHex: string): Needle[] {
  if (!/^[0-9a-f]{32}$/.test(deviceHex)) return [];
  const out: Needle[] = [];
  for (const m of msgs) {
    if (!m.subject.startsWith('$KV.hw_dir.')) continue;
    let entry;
    try {
      entry = wire.DirectoryEntry.decode(m.data);
    } catch {
      continue;
    }
    for (const d of entry.devices as DirectoryDevice[]) {
      if (bytesToHex(d.device) !== deviceHex) continue;
      out.push(
        { name: 'bob device token', bytes: Buffer.from(deviceToken(d.device)) },
        { name: 'bob route tag', bytes: Buffer.from(m.subject.slice('$KV.hw_dir.'.length)) },
        ...bytesNeedles('bob identity key', d.identityKey),
        ...bytesNeedles('bob prekey', d.prekey),
      );
      return out;
    }
  }
  return out;
}
