// An SMS bridge's HTTP refusals, as the gateway answers the handset (relay/verifier/
// webhook.ts refusalOf; docs/PROTOCOL.md section 2; docs/OPERATIONS.md, "Number
// verification"). Before, every 4xx and 503 was answered UNAVAILABLE with retry_after_ms
// 1000: a bridge refusing the gateway's token (401), or refusing a number it will never
// send to (422), had handsets ask again every second, forever, and a bridge's
// Retry-After was ignored. Now:
// - busy (408, 425, 429, 503): UNAVAILABLE, retry_after_ms the bridge's Retry-After (on
//   429 and 503; seconds or an HTTP-date, clamped to 1 s..10 min, garbage ignored), else
//   1000;
// - misconfigured (401, 402, 403, 405, 415; 407 too, which Node's fetch never shows): UNAVAILABLE, retry_after_ms 60,000, an
//   error-level log line for the operator;
// - number (other 4xx): BAD_NUMBER, no retry_after_ms.
// Each refunds the number's charge (no code went out), counts in
// hushwire_verifier_refusals_total{class}, and neither the log nor the answer carries
// the number, the code, the URL, the token or the bridge's body.
// A real in-process gateway (embedded bus), the webhook verifier POSTing to a real
// node:http server on loopback (test/helpers/refusing-bridge.ts).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { verifyStart, verifyStartCharges } from '../helpers/verify-start.ts';
import { startRefusingBridge, type BridgeAnswer } from '../helpers/refusing-bridge.ts';
import { connectRaw } from '../helpers/raw.ts';
import { tempDir } from '../helpers/temp.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { createWebhookVerifier } from '../../relay/verifier/webhook.ts';
import { MISCONFIGURED_RETRY_MS, BRIDGE_RETRY_MAX_MS, VerifierFailure } from '../../relay/verifier/verifier.ts';
import { VERIFY_NOT_SENT_RETRY_MS } from '../../relay/session.ts';

t.setTimeout(120_000);

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(3000 + ++seq).padStart(4, '0')}`;
const TOKEN = 'tok-Zq81vKxw3Jm0';
const BODY = 'BRIDGE-BODY-7f3a9c';

async function counts(gw: TestGateway): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await gw.metrics.verifierRefusals.get()).values) out[String(v.labels.class)] = v.value;
  for (const v of (await gw.metrics.verifyStartRefunds.get()).values) out[`refund_${String(v.labels.result)}`] = v.value;
  for (const v of (await gw.metrics.verifierDeliveries.get()).values) out[`delivery_${String(v.labels.outcome)}`] = v.value;
  return out;
}

interface Case {
  what: string;
  answer: BridgeAnswer;
  code: string;
  /** The retry_after_ms expected: a number, or [low, high]. */
  retry: number | [number, number];
  refusal: 'busy' | 'misconfigured' | 'number' | null;
  message: RegExp;
}

const inSeconds = (s: number): string => new Date(Date.now() + s * 1000).toUTCString();

const cases = (): Case[] => [
  { what: '503, no Retry-After', answer: { status: 503 }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /^verifier answered HTTP 503; no verification code was sent$/ },
  { what: '429, Retry-After 7 (seconds)', answer: { status: 429, headers: { 'retry-after': '7' } }, code: ErrorCode.UNAVAILABLE, retry: 7_000, refusal: 'busy', message: /HTTP 429; no verification code was sent$/ },
  { what: '503, Retry-After 30 (seconds)', answer: { status: 503, headers: { 'retry-after': '30' } }, code: ErrorCode.UNAVAILABLE, retry: 30_000, refusal: 'busy', message: /HTTP 503/ },
  // A date has whole seconds, and time passes between the header and the gateway's read.
  { what: '503, Retry-After an HTTP-date 90 s ahead', answer: { status: 503, headers: { 'retry-after': inSeconds(90) } }, code: ErrorCode.UNAVAILABLE, retry: [30_000, 90_000], refusal: 'busy', message: /HTTP 503/ },
  { what: '429, Retry-After a date long past', answer: { status: 429, headers: { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' } }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /HTTP 429/ },
  { what: '429, Retry-After garbage', answer: { status: 429, headers: { 'retry-after': 'in a while' } }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /HTTP 429/ },
  { what: '503, Retry-After huge', answer: { status: 503, headers: { 'retry-after': '99999999999' } }, code: ErrorCode.UNAVAILABLE, retry: BRIDGE_RETRY_MAX_MS, refusal: 'busy', message: /HTTP 503/ },
  { what: '429, no Retry-After', answer: { status: 429 }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /HTTP 429/ },
  { what: '408', answer: { status: 408 }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /HTTP 408/ },
  { what: '425 with a Retry-After (no meaning there: ignored)', answer: { status: 425, headers: { 'retry-after': '30' } }, code: ErrorCode.UNAVAILABLE, retry: VERIFY_NOT_SENT_RETRY_MS, refusal: 'busy', message: /HTTP 425/ },
  // 407 is not among them: Node's fetch (undici) turns a 407 into a network error
  // before the gateway sees a status (relay/verifier/webhook.ts refusalOf).
  ...[401, 402, 403, 405, 415].map((status): Case => ({
    what: `${status}${status === 401 ? ' with a Retry-After (not honoured)' : ''}`,
    answer: { status, ...(status === 401 ? { headers: { 'retry-after': '2' } } : {}), body: BODY },
    code: ErrorCode.UNAVAILABLE, retry: MISCONFIGURED_RETRY_MS, refusal: 'misconfigured',
    message: new RegExp(`^verifier answered HTTP ${status}: the service's SMS bridge refuses this gateway's requests \\(a configuration fault for its operator\\); no verification code was sent$`),
  })),
  ...[400, 404, 410, 422].map((status): Case => ({
    what: `${status}`, answer: { status, body: BODY }, code: ErrorCode.BAD_NUMBER, retry: 0, refusal: 'number',
    message: new RegExp(`^the service's SMS bridge will not send a verification code to this number \\(HTTP ${status}\\)$`),
  })),
  { what: '500 (may have been sent: for contrast)', answer: { status: 500, body: BODY }, code: ErrorCode.UNAVAILABLE, retry: 0, refusal: null, message: /^verifier answered HTTP 500$/ },
];

t.test('each refusal class: the answer, the charge, the metrics; nothing leaks', async (t) => {
  const bridge = await startRefusingBridge(t);
  const dir = tempDir('hw-bridge-refusals-');
  const tokenFile = join(dir, 'verifier.token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: bridge.url, verifierTokenFile: tokenFile, verifyStartsPerNumber: 5, logLevel: 'info' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const numbers: string[] = [];
  const answers: string[] = [];
  const expected: Record<string, number> = { busy: 0, misconfigured: 0, number: 0, refund_refunded: 0, refund_withheld: 0, delivery_failed: 0 };
  for (const c of cases()) {
    const number = freshNumber();
    numbers.push(number);
    // Every body the bridge answers carries the number too: it must not come back.
    bridge.answer = { ...c.answer, ...(c.answer.body !== undefined ? { body: `${c.answer.body} ${number}` } : {}) };
    const posts = bridge.posts.length;
    const r = await verifyStart(gw.url, number);
    answers.push(JSON.stringify(r));
    t.equal(bridge.posts.length, posts + 1, `${c.what}: the bridge was asked once`);
    t.equal(bridge.posts.at(-1)?.authorization, `Bearer ${TOKEN}`, `${c.what}: with the token`);
    t.equal(r.error?.code, c.code, `${c.what}: ${c.code}`);
    t.match(r.error?.message, c.message, `${c.what}: the message`);
    const retry = Number(r.error?.retryAfterMs ?? 0);
    if (typeof c.retry === 'number') t.equal(retry, c.retry, `${c.what}: retry_after_ms ${c.retry}`);
    else t.ok(retry >= c.retry[0] && retry <= c.retry[1], `${c.what}: retry_after_ms ${retry} within ${c.retry[0]}..${c.retry[1]}`);
    // A code not sent gives the charge back; a 500 may have sent it and keeps it.
    t.equal(await verifyStartCharges(gw, number), c.refusal === null ? 1 : 0, `${c.what}: the number's charge ${c.refusal === null ? 'kept' : 'given back'}`);
    if (c.refusal !== null) { expected[c.refusal]!++; expected.refund_refunded!++; } else expected.refund_withheld!++;
    expected.delivery_failed!++;
    t.match(await counts(gw), expected, `${c.what}: counted`);
  }

  // The operator's line for the misconfigured bridge: error level, saying what to check.
  const lines = gw.logs().split('\n').filter((l) => l.includes('verifier delivery')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const errors = lines.filter((l) => l.level === 50);
  t.ok(errors.length >= 1, `an error-level line for the misconfigured bridge (${errors.length}), although a warn line came just before`);
  t.match(errors[0], { outcome: 'failed', refusal: 'misconfigured', reason: 'HTTP 401', refunded: true, msg: /^verifier delivery failed: HTTP 401 \(the SMS bridge refuses the gateway's credentials: check --verifier-token-file against the tokens the bridge accepts; every registration fails until it is fixed\); the number's verify_start charge was given back/ });
  t.ok(lines.every((l) => l.level === 50 ? l.refusal === 'misconfigured' : l.level === 40), 'the others are warn lines');

  // Nothing of the number, the codes, the URL, the token or the bridge's body in the
  // log or in any answer.
  const port = new URL(bridge.url).port;
  for (const [name, text] of [['the log', gw.logs()], ['the answers', answers.join('\n')]] as const) {
    for (const n of numbers) t.notOk(text.includes(n.slice(2)), `${name}: not the number ${n}`);
    for (const p of bridge.posts) t.notOk(new RegExp(`(?<![0-9])${p.code}(?![0-9])`).test(text), `${name}: not the code`);
    t.notOk(text.includes(TOKEN), `${name}: not the token`);
    t.notOk(text.includes(BODY), `${name}: not the bridge's body`);
    t.notOk(text.includes('/send-code') || text.includes(`127.0.0.1:${port}`), `${name}: not the URL`);
  }
});

t.test('a refused code leaves nothing to guess, also for BAD_NUMBER and a misconfigured bridge', async (t) => {
  const bridge = await startRefusingBridge(t);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: bridge.url, logLevel: 'warn' });
  t.teardown(() => gw.close());
  for (const status of [422, 401]) {
    bridge.answer = { status };
    const c = await connectRaw(gw.url);
    await c.next((o) => o.body === 'challenge');
    const number = freshNumber();
    c.send([{ req: 1, verifyStart: { number } }]);
    t.ok((await c.reply(1)).error, `${status}: the start fails`);
    c.send([{ req: 2, register: { number, code: bridge.posts.at(-1)!.code } }]);
    const r = await c.reply(2);
    t.equal(r.error?.code, ErrorCode.VERIFY_FAILED, `${status}: even the code the bridge was given is refused`);
    t.match(r.error?.message, /no pending verification/);
    c.close();
  }
});

t.test('the verifier itself: what each refusal throws', async (t) => {
  const bridge = await startRefusingBridge(t);
  const verifier = createWebhookVerifier({ url: bridge.url, timeoutMs: 5_000, token: TOKEN });
  t.teardown(() => verifier.close());
  const failure = async (answer: BridgeAnswer): Promise<VerifierFailure> => {
    bridge.answer = answer;
    const e = await verifier.deliver('+15550108888', '654321').then(() => null, (x: unknown) => x);
    if (!(e instanceof VerifierFailure)) throw new Error('not a VerifierFailure');
    return e;
  };
  t.match(await failure({ status: 429, headers: { 'retry-after': '12' } }), { code: ErrorCode.UNAVAILABLE, notSent: true, refusal: 'busy', retryAfterMs: 12_000, reason: 'HTTP 429' });
  t.match(await failure({ status: 503 }), { code: ErrorCode.UNAVAILABLE, notSent: true, refusal: 'busy', retryAfterMs: 0 }, 'no Retry-After: the session\'s floor applies');
  t.match(await failure({ status: 403, headers: { 'retry-after': '1' } }), { code: ErrorCode.UNAVAILABLE, notSent: true, refusal: 'misconfigured', retryAfterMs: MISCONFIGURED_RETRY_MS });
  t.match(await failure({ status: 422 }), { code: ErrorCode.BAD_NUMBER, notSent: true, refusal: 'number', retryAfterMs: 0 });
  t.match(await failure({ status: 502, headers: { 'retry-after': '5' } }), { code: ErrorCode.UNAVAILABLE, notSent: false, refusal: null, retryAfterMs: 0 }, 'a 502 may have sent it: its Retry-After is no invitation');
  for (const status of [429, 401, 404, 500]) {
    const e = await failure({ status, body: `${BODY} +15550108888 654321` });
    const all = JSON.stringify({ ...e, message: e.message, reason: e.reason, stack: e.stack });
    t.notOk(all.includes('5550108888') || all.includes('654321') || all.includes(TOKEN) || all.includes(BODY) || all.includes('/send-code'), `${status}: the failure carries no number, code, token, body or URL`);
  }
});
