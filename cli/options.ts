// Options shared by several commands, so each is spelled and documented once.
import { statSync } from 'node:fs';
import { Option, InvalidArgumentError } from 'commander';
import { parseE164 } from '../relay/number.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import type { KeyChange, HushwireClient } from '../client/index.ts';
import { MAX_TIMER_MS } from '../client/timer-delay.ts';
import { checkGatewayUrl } from '../client/profile-data.ts';
import { CLOSE_LATE_MESSAGE } from '../client/client.ts';
import { waitText } from './errors.ts';

/** `creates`: register makes the directory; every other command needs one it made. */
export function profileOption(creates = false): Option {
  return new Option('--profile <dir>', creates
    ? 'profile directory to create (device keys and state; made 0700), or an empty one, or one unregister left'
    : 'profile directory that hushwire register made (device keys and state)')
    .env('HUSHWIRE_PROFILE')
    .makeOptionMandatory();
}

/** Before a command opens --profile: a path that does not exist is a mistyped path far
 *  more often than a lost registration, and the SDK's answer for a profile without a
 *  device (NOT_REGISTERED, which says to register) would send such a user to register a
 *  second device under the typo. NOT_REGISTERED (exit 4) still, as before. */
export function requireProfileDir(dir: string): void {
  // `--profile ""`, or HUSHWIRE_PROFILE set empty (`HUSHWIRE_PROFILE= hushwire ...`): said
  // as such, not "no profile at : the directory does not exist".
  if (dir === '') throw new HushwireError(ErrorCode.BAD_REQUEST, '--profile (or HUSHWIRE_PROFILE) is empty: give the profile directory that hushwire register made');
  try {
    statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // the SDK says what else is wrong
    throw new HushwireError(ErrorCode.NOT_REGISTERED, `no profile at ${dir}: the directory does not exist (check --profile or HUSHWIRE_PROFILE; hushwire register makes a new profile)`, { cause: e });
  }
}

/** A phone number given with `flag` (--to, --number), in E.164 form. BAD_NUMBER names
 *  the option and the form (the SDK's "not an E.164 phone number" said neither); the
 *  value is never quoted back (it is a phone number). */
export function numberOption(value: string, flag: string): string {
  try {
    return parseE164(value);
  } catch (e) {
    throw new HushwireError(ErrorCode.BAD_NUMBER, `${flag} is not a phone number in E.164 form: +, the country code and the number, e.g. +15550000001`, { cause: e });
  }
}

/** A --gateway URL: the SDK's check (client/profile-data.ts checkGatewayUrl), its
 *  refusal said with the option's name and the form (the SDK's "gateway URL must start
 *  with ws:// or wss://" named neither the option nor what a whole one looks like, for
 *  `--gateway 127.0.0.1:8480` or `--gateway http://...`). The value is not quoted back
 *  (a URL may hold a password). */
export function gatewayUrlOption(value: string): string {
  try {
    return checkGatewayUrl(value);
  } catch (e) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, '--gateway is not a gateway WebSocket URL: ws:// (or wss://), the host and port, and the path, e.g. ws://127.0.0.1:8480/ws', { cause: e });
  }
}

/** One JSON object per line on stdout: what scripts parse. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** The most a --timeout may be, in whole seconds: 2,147,483 (24.8 days), the longest a
 *  timer waits (a longer one fires after 1 ms: listen --timeout 3000000 ended at once,
 *  "no gateway answered within --timeout 3000000 s", exit 5). */
export const MAX_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);

/** A --timeout in seconds: positive, at most MAX_TIMEOUT_S. */
export function parseTimeoutSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  if (n > MAX_TIMEOUT_S) throw new InvalidArgumentError(`must be at most ${MAX_TIMEOUT_S} seconds (24.8 days, the longest a timer waits)`);
  return n;
}

/** The --timeout of a command that connects, asks the gateway and ends (discover,
 *  safety-number, verify-contact, accept-keys, rotate-prekey, unregister): parsed by
 *  parseTimeoutSeconds; no default (without it, the SDK's attempts and request deadlines). */
export function timeoutOption(help: string): Option {
  return new Option('--timeout <seconds>', help).argParser(parseTimeoutSeconds);
}

/** Resolves 'late' after `timeoutS` seconds unless `work` settles first (its value then);
 *  a rejection of `work` after the deadline is said by nobody (the caller's close ends it). */
async function within<T>(work: Promise<T>, timeoutS: number): Promise<{ value: T } | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), timeoutS * 1000); });
  work.catch(() => {});
  try {
    return await Promise.race([work.then((value) => ({ value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects `client` within --timeout `timeoutS` seconds, else UNAVAILABLE (exit 5): "no
 *  gateway answered within --timeout N s, <nothingDone>: ...". The SDK bounds a first
 *  connect by its attempts, not by a deadline: at a gateway that takes the connection and
 *  never answers (hung, overloaded, a proxy with no backend) that was 3 attempts of 5 s,
 *  ~17 s whatever --timeout said. The caller closes the client (which ends the attempts). */
export async function connectWithin(client: Pick<HushwireClient, 'connect'>, timeoutS: number, nothingDone: string): Promise<void> {
  if (await within(client.connect(), timeoutS) === 'late') {
    throw new HushwireError(ErrorCode.UNAVAILABLE, `no gateway answered within --timeout ${timeoutS} s, ${nothingDone}: check that the profile's gateway is running and reachable`);
  }
}

/** `work` (a command's requests, once connected) within --timeout `timeoutS` seconds
 *  again, else TIMEOUT (exit 3): "the gateway did not answer within --timeout N s once
 *  connected, <afterwards>". The caller closes the client (which ends `work`). */
export async function finishWithin<T>(work: Promise<T>, timeoutS: number, afterwards: string): Promise<T> {
  const r = await within(work, timeoutS);
  if (r === 'late') throw new HushwireError(ErrorCode.TIMEOUT, onceConnectedMessage(timeoutS, afterwards));
  return r.value;
}

function onceConnectedMessage(timeoutS: number, afterwards: string): string {
  return `the gateway did not answer within --timeout ${timeoutS} s once connected, ${afterwards}`;
}

/** For rotate-prekey and unregister, whose one request gets --timeout as the SDK's
 *  request deadline (requestTimeoutMs) rather than being cut off: the SDK's TIMEOUT
 *  ("request timed out") said as finishWithin says it, naming --timeout and what the
 *  command leaves; any other error as it is. */
export function onceConnectedTimeout(e: unknown, timeoutS: number, afterwards: string): unknown {
  if (!(e instanceof HushwireError) || e.code !== ErrorCode.TIMEOUT) return e;
  return new HushwireError(ErrorCode.TIMEOUT, onceConnectedMessage(timeoutS, afterwards), { cause: e });
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function parseCountOrZero(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** ClientOptions.onStoreError for the CLI: a line on stderr per problem of the profile's
 *  storage (a failed write, a damaged keys.json), which the SDK otherwise rides out
 *  without a word. The message only (it names no number or key). */
export function storeWarning(e: unknown): void {
  process.stderr.write(`${storeWarningLine(e)}\n`);
}

/** storeWarning's line. The SDK's word that close() stopped waiting for the profile's
 *  writes names its option (closeTimeoutMs) and call (close()), which a CLI user never
 *  typed: said in the command's terms, with the time it waited. */
export function storeWarningLine(e: unknown): string {
  const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  const { start, end } = CLOSE_LATE_MESSAGE;
  if (e instanceof HushwireError && msg.startsWith(start) && msg.endsWith(end)) {
    const ms = Number(msg.slice(start.length, msg.length - end.length));
    if (Number.isSafeInteger(ms) && ms > 0) {
      return `warning: profile: the profile's files were not written within ${waitText(ms)} of the command's end (a stalled disk?): the connection is closed, and the writes are still under way`;
    }
  }
  return `warning: profile: ${msg}`;
}

/** The stderr line for a contact key change (docs/CLIENT.md, "Contact keys and safety
 *  numbers"): said, so stdout stays one JSON object per line. Device ids are not shown
 *  (they mean nothing to a user); counts are. */
export function keyChangeLine(ch: KeyChange): string {
  const who = ch.own ? 'your own number' : ch.number ?? 'a contact';
  const parts = [
    ch.added.length > 0 ? `${ch.added.length} device(s) added` : '',
    ch.changed.length > 0 ? `${ch.changed.length} device key(s) replaced` : '',
    ch.removed.length > 0 ? `${ch.removed.length} device(s) gone` : '',
  ].filter((p) => p !== '');
  const what = parts.length > 0 ? parts.join(', ') : 'the devices you had not accepted are gone';
  // Only gone (unregistered, or expired at the relay): no sign of a take-over, which
  // adds a device or replaces a key; said without the alarm.
  if (ch.own && ch.added.length === 0 && ch.changed.length === 0 && ch.removed.length > 0) return `notice: ${who} lists fewer devices now (${what}: unregistered, or expired at the relay)`;
  if (ch.own) return `notice: ${who} lists other devices now (${what}); if that was not you, your number may have been taken over`;
  if (ch.status === 'changed') {
    return `notice: the keys of ${who} changed (${what}); sends to it are held until you compare safety numbers again (hushwire safety-number --to ${ch.number ?? '<number>'}) or accept them (hushwire accept-keys)`;
  }
  return `notice: the keys of ${who} changed (${what})${ch.status === 'verified' ? '; still verified' : ch.wasVerified ? '; no longer verified' : ''}`;
}
