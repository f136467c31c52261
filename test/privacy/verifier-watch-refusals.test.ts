// VerifierWatch (relay/verifier/watch.ts) and an SMS bridge's HTTP refusals: each is
// counted by class (hushwire_verifier_refusals_total); a bridge refusing the gateway's
// requests themselves (401, 402, 403, 405, 415: `misconfigured`) is logged at error level
// with what the operator should check, at once even inside a throttle window that other
// failures opened, then at most once per WARN_EVERY_MS of its own. No I/O: a fake clock
// and log.
import t from 'tap';
import { VerifierWatch, WARN_EVERY_MS } from '../../relay/verifier/watch.ts';
import { VerifierFailure, type Refusal } from '../../relay/verifier/verifier.ts';
import { createMetrics } from '../../relay/metrics.ts';
import { ErrorCode } from '../../relay/errors.ts';
import type { Logger } from '../../relay/log.ts';

interface Line { level: 'warn' | 'error'; fields: Record<string, unknown>; msg: string }

function setup() {
  const lines: Line[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => { lines.push({ level: 'warn', fields, msg }); },
    error: (fields: Record<string, unknown>, msg: string) => { lines.push({ level: 'error', fields, msg }); },
  } as unknown as Logger;
  let clock = 0;
  const metrics = createMetrics({ defaultMetrics: false });
  const watch = new VerifierWatch(metrics, log, () => clock);
  const refusals = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await metrics.verifierRefusals.get()).values) out[String(v.labels.class)] = v.value;
    return out;
  };
  return { watch, lines, refusals, advance: (ms: number) => { clock += ms; } };
}

const refusal = (status: number, cls: Refusal): VerifierFailure =>
  new VerifierFailure('failed', `HTTP ${status}`, `verifier answered HTTP ${status}`, { notSent: true, refusal: cls, ...(cls === 'number' ? { code: ErrorCode.BAD_NUMBER } : {}) });
const busy = refusal(503, 'busy');
const badToken = refusal(401, 'misconfigured');
const badNumber = refusal(422, 'number');

t.test('each refusal counted by class; the series exist at 0 from the start', async (t) => {
  const { watch, refusals } = setup();
  t.same(await refusals(), { busy: 0, misconfigured: 0, number: 0 });
  watch.failed(busy, 'refunded');
  watch.failed(badToken, 'refunded');
  watch.failed(badToken, 'refunded');
  watch.failed(badNumber, 'refunded');
  watch.failed(new VerifierFailure('failed', 'HTTP 500', 'verifier answered HTTP 500'), 'withheld');
  t.same(await refusals(), { busy: 1, misconfigured: 2, number: 1 }, 'a 500 is no refusal');
});

t.test('a misconfigured bridge: an error line at once, even inside a throttle window', async (t) => {
  const { watch, lines, advance } = setup();
  watch.failed(busy, 'refunded');
  t.equal(lines.length, 1);
  t.equal(lines[0]!.level, 'warn');
  advance(100);
  watch.failed(badToken, 'refunded');
  t.equal(lines.length, 2, 'not held back by the window the 503 opened');
  t.equal(lines[1]!.level, 'error');
  t.match(lines[1]!.fields, { outcome: 'failed', reason: 'HTTP 401', refusal: 'misconfigured', refunded: true, failures: 1 });
  t.match(lines[1]!.msg, /^verifier delivery failed: HTTP 401 \(the SMS bridge refuses the gateway's credentials: check --verifier-token-file against the tokens the bridge accepts; every registration fails until it is fixed\); the number's verify_start charge was given back$/);
  // Rate-limited: the next 401s within WARN_EVERY_MS are counted, not logged.
  for (let i = 0; i < 20; i++) { advance(100); watch.failed(badToken, 'refunded'); }
  t.equal(lines.length, 2, 'at most one line per window');
  advance(WARN_EVERY_MS);
  watch.failed(badToken, 'refunded');
  t.equal(lines.length, 3);
  t.match(lines[2]!, { level: 'error', fields: { failures: 21, charges: { refunded: 21 } } });
  t.match(lines[2]!.msg, /\(21 failed deliveries since the last such line: 21 charges given back\)$/);
});

t.test('what each class says to the operator', async (t) => {
  const { watch, lines, advance } = setup();
  const said = (e: VerifierFailure): Line => {
    advance(WARN_EVERY_MS);
    watch.failed(e, 'refunded');
    return lines.at(-1)!;
  };
  t.match(said(refusal(415, 'misconfigured')).msg, /^verifier delivery failed: HTTP 415 \(the SMS bridge does not take the gateway's POST of JSON: --verifier-url names something else; every registration fails until it is fixed\);/);
  t.match(said(refusal(405, 'misconfigured')).msg, /HTTP 405 \(the SMS bridge does not take the gateway's POST of JSON/);
  t.match(said(refusal(402, 'misconfigured')).msg, /HTTP 402 \(the SMS bridge wants payment: its SMS provider account is out of credit or suspended; every registration fails until it is fixed\)/);
  t.match(said(refusal(407, 'misconfigured')).msg, /HTTP 407 \(a proxy in front of the SMS bridge wants credentials/);
  t.match(said(refusal(403, 'misconfigured')).msg, /HTTP 403 \(the SMS bridge refuses the gateway's credentials/);
  const n = said(badNumber);
  t.equal(n.level, 'warn', 'a number refused is no operator fault: warn');
  t.match(n, { fields: { refusal: 'number', reason: 'HTTP 422' }, msg: /^verifier delivery failed: HTTP 422 \(the SMS bridge will not send to that number; if it refuses every number, check --verifier-url\); the number's verify_start charge was given back$/ });
  const b = said(busy);
  t.match(b, { level: 'warn', fields: { refusal: 'busy' }, msg: /^verifier delivery failed: HTTP 503; the number's verify_start charge was given back$/ });
});
