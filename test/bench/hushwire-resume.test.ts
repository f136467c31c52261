// The bench's Hushwire handset (bench/drivers/hushwire.ts) with resumption tickets
// (docs/PROTOCOL.md, section 13), against real gateways: at set-up ('request') it signs
// and gets a ticket; in the storm ('use') it resumes with it; a ticket the gateway
// refuses (one of the same resume_key it will not open) falls back to a signed auth on
// the same connection, and one of another resume_key is not presented at all; a gateway without resume_key gets signed auths and no ticket
// request; with tickets 'off' nothing changes from before.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { registerRaw, type RawDevice } from '../helpers/raw-device.ts';
import { hushwireDriver } from '../../bench/drivers/hushwire.ts';
import { stormAuthReport } from '../../bench/run.ts';
import type { DriverContext, Endpoint } from '../../bench/drivers/driver.ts';
import { noAuths, type AuthCounts, type EndpointSpec } from '../../bench/types.ts';

t.setTimeout(120_000);

let numbers = 0;
async function device(url: string): Promise<RawDevice> {
  const { c, dev } = await registerRaw(url, `+1555779${String(1000 + numbers++).padStart(4, '0')}`);
  c.close();
  await c.closed;
  return dev;
}

function handset(url: string, dev: RawDevice, tickets: DriverContext['tickets']): { spec: EndpointSpec; ctx: DriverContext; ep: Endpoint } {
  const spec: EndpointSpec = {
    idx: 0, url, name: 'c0', groups: [],
    hw: { route: dev.route, device: dev.device, identitySecret: dev.id.secretKey, identityPublic: dev.id.publicKey, prekeyPublic: dev.prekey.publicKey, number: dev.number },
  };
  const ctx: DriverContext = {
    hooks: { message: () => undefined, ack: () => undefined }, runTag: new Uint8Array(8), specs: new Map([[0, spec]]),
    payloadBytes: 0, wsClient: 'lean', tickets, auth: noAuths(),
  };
  return { spec, ctx, ep: hushwireDriver.endpoint(spec, ctx) };
}

const counts = (a: AuthCounts): Partial<AuthCounts> => ({ signed: a.signed, resumed: a.resumed, refused: a.refused, tickets: a.tickets, ticketErrors: a.ticketErrors, noResumeKey: a.noResumeKey });

async function reconnect(t: Test, ep: Endpoint): Promise<void> {
  ep.terminate();
  await ep.connect(10_000);
  t.teardown(() => ep.terminate());
}

t.test('one gateway: set-up signs and gets a ticket, the storm resumes with it', async (t) => {
  const gw = await startTestGateway({});
  t.teardown(() => gw.close());
  const { ctx, ep } = handset(gw.url, await device(gw.url), 'request');
  await ep.connect(10_000);
  t.same(counts(ctx.auth), { signed: 1, resumed: 0, refused: 0, tickets: 1, ticketErrors: 0, noResumeKey: 0 }, 'signed, then a ticket');
  ctx.tickets = 'use';
  ctx.auth = noAuths();
  await reconnect(t, ep);
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 0, resumed: 2, refused: 0, tickets: 0, ticketErrors: 0, noResumeKey: 0 }, 'each reconnect resumed, no new ticket asked');
  t.match(await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_resumes_total'), /result="resumed"\} 2/, 'the gateway counted two resumes');
});

t.test('tickets off: every connect signs, none asked for (as before)', async (t) => {
  const gw = await startTestGateway({});
  t.teardown(() => gw.close());
  const { ctx, ep } = handset(gw.url, await device(gw.url), 'off');
  await ep.connect(10_000);
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 2, resumed: 0, refused: 0, tickets: 0, ticketErrors: 0, noResumeKey: 0 });
  t.match(await gw.metrics.registry.getSingleMetricAsString('hushwire_resume_tickets_issued_total'), /hushwire_resume_tickets_issued_total 0/, 'no ticket issued');
});

t.test('a gateway that issues no tickets (no resume_key): signed, no request, counted', async (t) => {
  const gw = await startTestGateway({ resumeTicketTtlS: 0 });
  t.teardown(() => gw.close());
  const { ctx, ep } = handset(gw.url, await device(gw.url), 'request');
  await ep.connect(10_000);
  t.same(counts(ctx.auth), { signed: 1, resumed: 0, refused: 0, tickets: 0, ticketErrors: 0, noResumeKey: 1 });
  ctx.tickets = 'use';
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 2, resumed: 0, refused: 0, tickets: 0, ticketErrors: 0, noResumeKey: 2 }, 'the storm signs too');
});

t.test('a ticket another gateway refuses: RESUME_REFUSED, then signed on the same connection; one of another resume_key is not shown', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  // A and B share one ticket key (the same resume_key), but B lets tickets live only a
  // minute: it refuses A's day-long ticket (relay/resume-tickets.ts). C has a key of its
  // own (another resume_key): A's ticket is not even presented there.
  const dir = tempDir('hw-bench-resume-');
  const keyFile = join(dir, 'resume.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const start = async (name: string, extra: Record<string, unknown>): Promise<TestGateway> => {
    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: key, natsPrefix: 'hwbr', mailboxShards: 1, logLevel: 'warn', name, liveTimeoutMs: 30_000, ...extra });
    t.teardown(() => gw.close());
    return gw;
  };
  const a = await start('hwbr0', { resumeKeyFile: keyFile });
  const b = await start('hwbr1', { resumeKeyFile: keyFile, resumeTicketTtlS: 60 });
  const c = await start('hwbr2', {});
  const { spec, ctx, ep } = handset(a.url, await device(a.url), 'request');
  await ep.connect(10_000);
  t.equal(ctx.auth.tickets, 1, 'a ticket from gateway A');
  ctx.tickets = 'use';
  ctx.auth = noAuths();
  spec.url = c.url;
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 1, resumed: 0, refused: 0, tickets: 0, ticketErrors: 0, noResumeKey: 0 }, 'C shows another resume_key: signed at once, the ticket not shown');
  ctx.auth = noAuths();
  spec.url = b.url;
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 1, resumed: 0, refused: 1, tickets: 0, ticketErrors: 0, noResumeKey: 0 }, 'refused at B, then signed there');
  await reconnect(t, ep);
  t.same(counts(ctx.auth), { signed: 2, resumed: 0, refused: 1, tickets: 0, ticketErrors: 0, noResumeKey: 0 }, 'the refused ticket is forgotten: the next connect signs at once');
});

t.test('the storm row\'s words: which auth, how many resumed, fell back, signed without a ticket', async (t) => {
  const a = (x: Partial<AuthCounts>): AuthCounts => ({ ...noAuths(), ...x });
  t.same(stormAuthReport('signature', a({ signed: 10 }), a({ signed: 10 })), { used: 'signature', resumed: 0, fallbacks: 0, note: 'auth: signature (--storm-auth signature)' });
  t.same(stormAuthReport('ticket', a({ signed: 10, tickets: 10 }), a({ resumed: 10 })), { used: 'ticket', resumed: 10, fallbacks: 0, note: 'auth: ticket (10 resumed, 0 fell back to signing)' });
  t.same(stormAuthReport('ticket', a({ signed: 10, tickets: 10 }), a({ resumed: 7, refused: 3, signed: 3 })).note, 'auth: ticket (7 resumed, 3 fell back to signing)');
  t.equal(stormAuthReport('ticket', a({ signed: 10, tickets: 8, ticketErrors: 2, ticketError: 'RATE_LIMITED' }), a({ resumed: 8, signed: 2 })).note,
    'auth: ticket (8 resumed, 0 fell back to signing, 2 signed with no ticket to use (2 ticket requests refused at set-up: RATE_LIMITED))');
  t.same(stormAuthReport('ticket', a({ signed: 10, noResumeKey: 10 }), a({ signed: 10, noResumeKey: 10 })),
    { used: 'signature', resumed: 0, fallbacks: 0, note: 'auth: signature (the gateways\' challenge carries no resume_key: they issue no resumption tickets)' });
  t.equal(stormAuthReport('ticket', a({ signed: 10, ticketErrors: 10, ticketError: 'UNAVAILABLE' }), a({ signed: 10 })).note, 'auth: signature (every ticket request was refused: UNAVAILABLE)');
});
