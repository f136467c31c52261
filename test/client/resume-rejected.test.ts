// A resume the gateway answers AUTH_FAILED (close 4002) does not end the client
// (docs/CLIENT.md "Resumption"; client/resume.ts noteAuthFailed, client/connection-core.ts
// retryOnAuthFailed): every ticket is forgotten, it is counted, the client reconnects
// with backoff and signs, what it had queued goes out, and it presents no ticket under
// that resume key again, nor asks for one there; a signed auth refused AUTH_FAILED still
// ends it.
//
// Why a proxy in front of a real gateway: the gateway sends AUTH_FAILED to a resume only
// when it takes it as malformed or as the connection's second resume (PROTOCOL section
// 13), and the SDK sends neither by itself (that is the point: the answer means the two
// disagree). No test hook makes a gateway do it, and a scripted gateway would only test
// the client against our own reading of the rules (resume-flow.test.ts does that, for the
// 4002 close that comes before the answer). So the gateway here is the real one
// (in-process, embedded bus), behind a WebSocket relay that passes every frame through
// unchanged, and at the one reconnect under test puts before the client's resume a
// resume of its own for the same device with a ticket that opens nowhere: the gateway
// answers that RESUME_REFUSED (swallowed by the relay), then takes the client's own
// resume, byte for byte as the SDK wrote it, as the connection's second and answers it
// with its real AUTH_FAILED and close 4002. The client's code path is the real one end to
// end (its socket, connection state machine, auth, backoff, stats); only the cause of
// the rejection is staged. For the final check the relay flips a bit of a signature, so
// the gateway refuses a signed auth as it refuses a wrong key.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { HushwireClient, type StateChange } from '../../client/index.ts';
import { wire, encodeFrame, type OpProps } from '../../relay/wire.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freshNumber, registerHandset, sendText, reader } from '../helpers/handsets.ts';
import { until } from './fake-gateway.ts';

t.setTimeout(120_000);

/** The req of the relay's own resume: far above any the client uses in a test. */
const STAGED_REQ = 0xfffffff0;

interface Relay {
  url: string;
  /** Per connection through the relay, in order: the auths the client sent ('ticket' or
   *  'signed'). */
  auths: string[][];
  /** Per connection: the close code the gateway ended it with (undefined: not by it). */
  gatewayCloses: (number | undefined)[];
  /** The gateway's answers to the relay's own resumes (error codes). */
  stagedAnswers: string[];
  /** The next this many resumes the client sends are made the connection's second. */
  stageSecondResume: number;
  /** Flip a bit of every signature the client sends in an auth. */
  corruptSignatures: boolean;
  /** Holds the next resume the client sends until release() (a window in which the
   *  client is mid-reconnect); resolves once one is held. */
  holdNextResume(): Promise<void>;
  release(): void;
  /** Closes every client-side socket (1001, going away), as a gateway shutting down. */
  dropAll(): void;
  close(): Promise<void>;
}

function opsOf(data: Buffer): OpProps[] {
  return wire.Frame.decode(new Uint8Array(data)).ops as OpProps[];
}

/** Close codes a close frame may carry (else the socket is cut). */
const sendable = (code: number) => code === 1000 || code === 1001 || (code >= 3000 && code <= 4999);

async function startRelay(upstreamUrl: string): Promise<Relay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const downs = new Set<WebSocket>();
  let hold: { resolve: () => void } | null = null;
  let held: (() => void) | null = null;
  const relay: Relay = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    auths: [],
    gatewayCloses: [],
    stagedAnswers: [],
    stageSecondResume: 0,
    corruptSignatures: false,
    holdNextResume: () => new Promise<void>((resolve) => { hold = { resolve }; }),
    release: () => {
      const h = held;
      held = null;
      h?.();
    },
    dropAll: () => {
      for (const d of downs) d.close(1001, 'going away');
    },
    close: async () => {
      for (const d of downs) d.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };

  wss.on('connection', (down) => {
    downs.add(down);
    const index = relay.auths.length;
    const auths: string[] = [];
    relay.auths.push(auths);
    relay.gatewayCloses.push(undefined);
    const up = new WebSocket(upstreamUrl, { perMessageDeflate: false });
    // Client frames wait here while the upstream opens, or behind a held or staged one.
    const queue: Buffer[] = [];
    let blocked = true;
    let stagedPending = false;
    const pump = () => {
      while (!blocked && queue.length > 0 && up.readyState === WebSocket.OPEN) forward(queue.shift()!);
    };
    const forward = (data: Buffer) => {
      const ops = opsOf(data);
      const auth = ops.find((o) => o.auth)?.auth;
      if (auth && auth.ticket && auth.ticket.length > 0) {
        auths.push('ticket');
        if (hold !== null) {
          // Held until the test releases it; it then goes on as usual.
          const h = hold;
          hold = null;
          blocked = true;
          held = () => {
            queue.unshift(data);
            auths.pop();
            blocked = false;
            pump();
          };
          h.resolve();
          return;
        }
        if (relay.stageSecondResume > 0) {
          relay.stageSecondResume--;
          // The relay's own resume first (a ticket that opens nowhere); the client's is
          // sent, unchanged, once the gateway has answered that one.
          blocked = true;
          stagedPending = true;
          up.send(encodeFrame([{ req: STAGED_REQ, auth: { route: auth.route, device: auth.device, ticket: new Uint8Array(randomBytes(69)), proof: new Uint8Array(randomBytes(32)) } }]));
          queue.unshift(data);
          return;
        }
      } else if (auth) {
        auths.push('signed');
        if (relay.corruptSignatures && auth.signature && auth.signature.length > 0) {
          const signature = Uint8Array.from(auth.signature);
          signature[0]! ^= 1;
          up.send(encodeFrame(ops.map((o) => (o.auth ? { ...o, auth: { ...o.auth, signature } } : o))));
          return;
        }
      }
      up.send(data);
    };
    down.on('message', (data: Buffer) => {
      queue.push(data);
      pump();
    });
    up.on('open', () => {
      blocked = false;
      pump();
    });
    up.on('message', (data: Buffer) => {
      if (stagedPending) {
        const ops = opsOf(data);
        const answer = ops.find((o) => o.req === STAGED_REQ);
        if (answer) {
          relay.stagedAnswers.push(answer.error?.code ?? 'ok');
          stagedPending = false;
          const rest = ops.filter((o) => o !== answer);
          if (rest.length > 0 && down.readyState === WebSocket.OPEN) down.send(encodeFrame(rest));
          // The client's own resume, as it wrote it.
          const own = queue.shift()!;
          up.send(own);
          blocked = false;
          pump();
          return;
        }
      }
      if (down.readyState === WebSocket.OPEN) down.send(data);
    });
    up.on('close', (code, reason) => {
      relay.gatewayCloses[index] = code;
      if (down.readyState !== WebSocket.OPEN) return;
      if (sendable(code)) down.close(code, reason.toString());
      else down.terminate();
    });
    down.on('close', () => {
      downs.delete(down);
      if (up.readyState === WebSocket.OPEN) up.close(1000, 'client gone');
      else up.terminate();
    });
    up.on('error', () => undefined);
    down.on('error', () => undefined);
  });
  return relay;
}

async function counter(gw: TestGateway, name: string, labels = ''): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString(name);
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

t.test('a resume the gateway rejects AUTH_FAILED: not ended; reconnects and signs, its queued send goes out; no ticket under that resume key again; a signed AUTH_FAILED still ends it', async (t) => {
  // A long auth deadline: the client waits at its held resume while B sends.
  const gw = await startTestGateway({ logLevel: 'warn', authTimeoutMs: 60_000 });
  t.teardown(() => gw.close());
  const relay = await startRelay(gw.url);
  t.teardown(() => relay.close());
  const a = await registerHandset([gw.url], freshNumber());
  const b = await registerHandset([gw.url], freshNumber());
  const states: StateChange[] = [];
  const { client, texts } = await reader(t, a, [relay], { onState: (c: StateChange) => { states.push(c); } });
  await until(() => client.resumeStats.issued === 1, 10_000, 'a ticket');
  t.same(relay.auths, [['signed']]);

  // The gateway goes away; the reconnect presents the ticket, and the relay holds it there
  // (the client mid-reconnect) while this client queues a send and B sends to it.
  const held = relay.holdNextResume();
  relay.dropAll();
  await held;
  t.equal(client.connectionState, 'authenticating', 'held at its resume');
  const sending = client.send(b.number, 'queued across the rejected resume');
  // And a request queued in the connection itself (written once it is connected).
  const queued = (client as unknown as { conn: { request(op: OpProps): Promise<OpProps> } }).conn.request({ ping: {} });
  await sendText(b, a.number, 'sent while A was away');
  // Then the gateway takes the client's resume as the connection's second.
  relay.stageSecondResume = 1;
  relay.release();
  await until(() => client.connectionState === 'connected' && relay.auths.length === 3, 20_000, 'connected again');

  t.same(relay.stagedAnswers, ['RESUME_REFUSED'], "the relay's resume came first, refused as a ticket that opens nowhere");
  t.same(relay.auths[1], ['ticket'], 'the client presented its ticket, once, and signed nothing on that socket');
  t.equal(relay.gatewayCloses[1], 4002, 'the gateway answered AUTH_FAILED and closed 4002');
  t.same(relay.auths[2], ['signed'], 'the reconnect signed');
  t.notOk(states.some((s) => s.to === 'closed'), 'never closed');
  t.same({ ...client.resumeStats }, { resumed: 0, refused: 0, authFailed: 1, requested: 1, issued: 1, failed: 0, lastError: 'AUTH_FAILED', holding: false, held: 0 },
    'counted; every ticket forgotten');
  t.equal(await counter(gw, 'hushwire_auth_failures_total'), 1, 'the gateway refused one auth (the resume)');

  t.ok((await queued).ok, 'the request queued in the connection was written after the signed reconnect, and answered');
  const sent = await sending;
  t.ok(['delivered', 'stored'].includes(sent.status), `the send queued during the reconnect went out (${sent.status})`);
  const inbox = await HushwireClient.open(b.profileDir, { prekeyRotationMs: 0, ownDevicesCheckMs: 0 });
  t.teardown(() => inbox.close());
  await inbox.connect();
  const it = inbox.messages()[Symbol.asyncIterator]();
  t.equal((await it.next()).value?.text, 'queued across the rejected resume', 'and B got it');
  await until(() => texts.length === 1, 15_000, "B's message");
  t.same(texts, ['sent while A was away'], 'what came meanwhile is received');

  // The next connects to this resume key sign: no ticket asked for there, none presented.
  relay.dropAll();
  await until(() => client.connectionState === 'connected' && relay.auths.length === 4, 20_000, 'connected again');
  t.same(relay.auths[3], ['signed'], 'signed, no ticket presented');
  t.equal(client.resumeStats.requested, 1, 'no ticket asked for under the rejecting resume key');
  t.equal(await counter(gw, 'hushwire_resume_tickets_issued_total'), 1, 'the gateway issued no other');

  // A signed auth refused AUTH_FAILED is final, as ever.
  relay.corruptSignatures = true;
  relay.dropAll();
  await until(() => client.connectionState === 'closed', 20_000, 'closed');
  t.same(relay.auths[4], ['signed']);
  t.equal(relay.gatewayCloses[4], 4002);
  const closed = states.at(-1)!;
  t.equal(closed.to, 'closed');
  t.equal(closed.error?.code, ErrorCode.AUTH_FAILED, 'ended AUTH_FAILED');
  t.equal(relay.auths.length, 5, 'no further connect');
  await t.rejects(client.connect(), { code: ErrorCode.AUTH_FAILED });
});
