// The webhook verifier's reading of an SMS bridge's refusal (relay/verifier/webhook.ts):
// its Retry-After header (RFC 9110 10.2.3: delay-seconds or an HTTP-date in any of the
// three forms of 5.6.7), clamped to BRIDGE_RETRY_MIN_MS..BRIDGE_RETRY_MAX_MS, anything
// malformed ignored (null); and the refusal class of each status. No I/O: a fixed clock.
import t from 'tap';
import { parseRetryAfter, parseHttpDate, refusalOf } from '../../relay/verifier/webhook.ts';
import { BRIDGE_RETRY_MAX_MS, BRIDGE_RETRY_MIN_MS } from '../../relay/verifier/verifier.ts';
import { VERIFY_NOT_SENT_RETRY_MS } from '../../relay/session.ts';

const NOW = Date.UTC(2026, 11, 7, 22, 0, 0); // Mon, 07 Dec 2026 22:00:00 GMT

t.test('the clamp is the documented one', async (t) => {
  t.equal(BRIDGE_RETRY_MIN_MS, VERIFY_NOT_SENT_RETRY_MS, 'at least what every "no code sent" answer carries');
  t.equal(BRIDGE_RETRY_MAX_MS, 600_000, 'at most ten minutes');
});

t.test('delay-seconds', async (t) => {
  t.equal(parseRetryAfter('5', NOW), 5_000);
  t.equal(parseRetryAfter('120', NOW), 120_000);
  t.equal(parseRetryAfter(' 7 ', NOW), 7_000, 'surrounding whitespace is no part of it');
  t.equal(parseRetryAfter('007', NOW), 7_000, 'leading zeros are digits');
  t.equal(parseRetryAfter('0', NOW), BRIDGE_RETRY_MIN_MS, '0: the least wait, not an immediate storm');
  t.equal(parseRetryAfter('1', NOW), BRIDGE_RETRY_MIN_MS);
  t.equal(parseRetryAfter('600', NOW), BRIDGE_RETRY_MAX_MS);
  t.equal(parseRetryAfter('601', NOW), BRIDGE_RETRY_MAX_MS, 'past ten minutes: ten minutes');
  t.equal(parseRetryAfter('86400', NOW), BRIDGE_RETRY_MAX_MS, 'a day: ten minutes');
  t.equal(parseRetryAfter('99999999999999999999999999999', NOW), BRIDGE_RETRY_MAX_MS, 'huge: ten minutes');
  t.equal(parseRetryAfter('9'.repeat(64), NOW), BRIDGE_RETRY_MAX_MS, '64 digits');
});

t.test('HTTP-dates, all three forms', async (t) => {
  t.equal(parseRetryAfter('Mon, 07 Dec 2026 22:01:00 GMT', NOW), 60_000, 'IMF-fixdate');
  t.equal(parseRetryAfter('Monday, 07-Dec-26 22:01:30 GMT', NOW), 90_000, 'RFC 850');
  t.equal(parseRetryAfter('Mon Dec  7 22:02:00 2026', NOW), 120_000, 'asctime, a one-digit day');
  t.equal(parseRetryAfter('Thu Dec 17 22:00:00 2026', NOW), BRIDGE_RETRY_MAX_MS, 'asctime, two-digit day, ten days ahead: clamped');
  t.equal(parseRetryAfter('Mon, 07 Dec 2026 21:59:00 GMT', NOW), BRIDGE_RETRY_MIN_MS, 'a date already past: the least wait');
  t.equal(parseRetryAfter('Mon, 07 Dec 2026 22:00:00 GMT', NOW), BRIDGE_RETRY_MIN_MS, 'now: the least wait');
  t.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), BRIDGE_RETRY_MIN_MS, 'RFC 9110\'s example, long past');
  t.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', NOW), BRIDGE_RETRY_MAX_MS, 'far ahead: ten minutes');
  t.equal(parseRetryAfter('Mon, 07 Dec 2026 22:00:01 GMT', NOW + 999), BRIDGE_RETRY_MIN_MS, 'a millisecond left: the least wait');
  t.equal(parseRetryAfter('Tue, 07 Dec 2026 22:05:00 GMT', NOW), 300_000, 'a wrong weekday is not held against it');
  t.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT'), BRIDGE_RETRY_MIN_MS, 'the clock defaults to now');
  t.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT'), BRIDGE_RETRY_MAX_MS, 'the clock defaults to now (far ahead)');
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), Date.UTC(1994, 10, 6, 8, 49, 37), 'RFC 850: 94 is 1994');
  t.equal(parseHttpDate('Sunday, 06-Nov-76 08:49:37 GMT', NOW), Date.UTC(2076, 10, 6, 8, 49, 37), 'RFC 850: 76 is 2076, within 50 years');
  t.equal(parseHttpDate('Sunday, 06-Nov-77 08:49:37 GMT', NOW), Date.UTC(1977, 10, 6, 8, 49, 37), 'RFC 850: 77 is 1977, not over 50 years ahead');
  t.equal(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT', NOW), Date.UTC(2026, 0, 1, 0, 0, 0), 'a leap second');
});

t.test('malformed: ignored (null), never a wait of the parser\'s making', async (t) => {
  const bad: unknown[] = [
    undefined, null, 5, 0, -1, NaN, Infinity, true, {}, [], ['5'], Symbol('5'), 5n, () => '5',
    '', ' ', 'soon', '-1', '+5', '1.5', '1e3', '0x10', '5s', '5 s', '½', '٥' /* an Arabic-Indic 5 */,
    '5, 10', '5,10', 'NaN', 'Infinity',
    '5'.repeat(65),
    'Mon, 07 Dec 2026 22:01:00 UTC', 'Mon, 07 Dec 2026 22:01:00', 'mon, 07 dec 2026 22:01:00 gmt',
    'Mon, 7 Dec 2026 22:01:00 GMT', 'Mon, 07 Dec 26 22:01:00 GMT', 'Mon, 07 Foo 2026 22:01:00 GMT',
    'Tue, 31 Feb 2026 00:00:00 GMT', 'Mon, 00 Dec 2026 22:01:00 GMT', 'Mon, 07 Dec 2026 24:00:00 GMT',
    'Mon, 07 Dec 2026 22:60:00 GMT', 'Mon, 07 Dec 2026 22:01:61 GMT',
    'Monday, 07-Dec-2026 22:01:00 GMT', 'Mon, 07-Dec-26 22:01:00 GMT', 'Mon Dec 7 22:02:00 2026',
    '2026-12-07T22:01:00Z', 'Mon, 07 Dec 2026 22:01:00 GMT, Mon, 07 Dec 2026 22:02:00 GMT',
    `Mon, 07 Dec 2026 22:01:00 GMT${' '.repeat(40)}x`,
  ];
  for (const v of bad) {
    const shown = typeof v === 'symbol' || typeof v === 'bigint' || typeof v === 'function' ? String(v) : JSON.stringify(v);
    t.equal(parseRetryAfter(v, NOW), null, `${shown ?? String(v)}: null`);
  }
});

t.test('each status\'s refusal class', async (t) => {
  for (const s of [408, 425, 429, 503]) t.equal(refusalOf(s), 'busy', `${s}: busy`);
  for (const s of [401, 402, 403, 407, 405, 415]) t.equal(refusalOf(s), 'misconfigured', `${s}: misconfigured`);
  for (const s of [400, 404, 406, 409, 410, 411, 413, 422, 451, 499]) t.equal(refusalOf(s), 'number', `${s}: number`);
  for (const s of [200, 204, 301, 399, 500, 501, 502, 504, 599]) t.equal(refusalOf(s), null, `${s}: no refusal (may have been sent, or not an error)`);
});
