// How the CLI ends: one line on stderr, `hushwire: <message> (<CODE>)`, and an exit
// code a script can branch on. Stack traces only with HUSHWIRE_DEBUG=1: a trace can
// hold paths and values a user would paste into a bug report without reading.
import { CommanderError } from 'commander';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { NO_DEVICE_MESSAGE, NO_GATEWAYS_MESSAGE } from '../client/profile-data.ts';
import { PROFILE_DIR_MESSAGES } from '../client/profile.ts';
import { NO_CODE_SENT_SOON } from '../client/register.ts';

export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,          // bad arguments, including a number that is not E.164 (or one the SMS bridge will not send to) or a text too large
  TIMEOUT: 3,        // listen --timeout passed, another --timeout once connected, or a request deadline
  NOT_REGISTERED: 4, // this profile or the recipient is not registered; oprf-key fetch: no evaluator serves that --id
  UNAVAILABLE: 5,    // no gateway reachable, the relay is unavailable, or RATE_LIMITED
  AUTH_FAILED: 6,    // the gateway refused our key, or failed the OPRF check
  IDENTITY_CHANGED: 7, // a contact's keys changed: sends held (or a safety number that does not match)
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  other error
  2  usage error, a number that is not E.164 or that the gateway's SMS bridge will not
     send a code to (BAD_NUMBER), or a text too large (TOO_LARGE)
  3  timeout (listen --timeout; a --timeout that ran out once connected; a request deadline)
  4  not registered (this profile, or the recipient; oprf-key fetch: no evaluator
     serves that --id)
  5  gateway unreachable, relay unavailable, or rate limited (RATE_LIMITED, and
     UNAVAILABLE when the relay said: the line says when to try again)
  6  authentication or verification failed
  7  a contact's keys changed (sends to it held until accept-keys or verify-contact), or a
     safety number that does not match
  130, 143  ended by SIGINT (Ctrl-C) or SIGTERM: a register whose registration was in
     flight undoes it first, an unregister under way finishes it first; listen ends 0
     on its first signal

Set HUSHWIRE_DEBUG=1 to print stack traces.`;

export function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) return ExitCode.USAGE;
  if (!(e instanceof HushwireError)) return ExitCode.ERROR;
  switch (e.code) {
    case ErrorCode.BAD_NUMBER:
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.TOO_LARGE:
      return ExitCode.USAGE;
    case ErrorCode.TIMEOUT:
      return ExitCode.TIMEOUT;
    case ErrorCode.NOT_REGISTERED:
      return ExitCode.NOT_REGISTERED;
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.RATE_LIMITED:
      return ExitCode.UNAVAILABLE;
    case ErrorCode.AUTH_FAILED:
    case ErrorCode.VERIFY_FAILED:
      return ExitCode.AUTH_FAILED;
    case ErrorCode.IDENTITY_CHANGED:
      return ExitCode.IDENTITY_CHANGED;
    default:
      return ExitCode.ERROR;
  }
}

/** A wait as a user reads it, rounded up: "45 s" below 2 min, "15 min" below 2 h, then
 *  hours and minutes ("23 h 59 min", "24 h"): a spent discovery budget's wait is up to a
 *  day, which read "1440 min". */
export function waitText(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}

/** When the relay said how long to wait (retryAfterMs of a RATE_LIMITED, also that of a
 *  lookup the SDK held back after such a refusal, or of an UNAVAILABLE: a store busy or
 *  unreachable, an evaluator down): a user should not have to guess it. Not after the
 *  SDK's own "try again in a moment" (a registration that got no code: its wait is a
 *  second or two), which would say it twice. */
function retryHint(e: HushwireError): string {
  if ((e.code !== ErrorCode.RATE_LIMITED && e.code !== ErrorCode.UNAVAILABLE) || !(e.retryAfterMs > 0)) return '';
  if (e.message.endsWith(NO_CODE_SENT_SOON)) return '';
  return `; try again in ${waitText(e.retryAfterMs)}`;
}

/** The relay's refusal of a device's key says no more than "authentication failed" (it
 *  tells nobody who is registered): for a profile it most likely means the relay no
 *  longer knows its device, and a user needs the way out. Other AUTH_FAILED messages (a
 *  pinned OPRF key that does not match, a proof) say their own. */
function authHint(e: HushwireError): string {
  if (e.code !== ErrorCode.AUTH_FAILED || e.message !== 'authentication failed') return '';
  return ': the gateway does not accept this profile\'s device (it was unregistered, from this profile or a copy of it, or expired at the relay, or this is another deployment); run hushwire unregister --profile DIR --forget-locally, then register again';
}

/** The SDK's AUTH_FAILED for a profile from which an opt-out was sent and never answered
 *  (client/opt-out-marker.ts): said in a user's words, with what most likely happened and
 *  what to do. The CLI does not forget the profile by itself: the refusal cannot tell a
 *  device the relay erased from one it refuses for another reason (another deployment's
 *  gateways in gateways.json, a copy of the profile registered anew), and the keys it
 *  would delete are the only way to opt such a device out. Null for other errors. */
export function optOutUnconfirmedMessage(e: HushwireError): string | null {
  if (e.code !== ErrorCode.AUTH_FAILED || !e.optOutUnconfirmed) return null;
  return 'the relay no longer accepts this profile\'s device: the opt-out begun earlier from this profile got no answer ' +
    '(it failed after it was sent), and most likely went through; the relay finishes erasing the device\'s directory entry and ' +
    'queued mail by itself, within the hour. The profile still holds the device\'s keys, learned routes and contacts\' keys: ' +
    'delete them with hushwire unregister --profile DIR --forget-locally (then register again to use Hushwire on this profile)';
}

/** The SDK's NOT_REGISTERED errors about this profile's own device speak to a developer
 *  (profileDir, HushwireClient.register, unregister()): the CLI says them in a user's
 *  words, with the way out; the profile's path and the number are never in them (DIR
 *  and NUMBER stand for them). The one about a contact's number ("that number is not
 *  registered with Hushwire") and the CLI's own (no profile at PATH, a listen's device
 *  unregistered meanwhile) are a user's already and stay as they are; null for those. */
export function notRegisteredMessage(e: HushwireError): string | null {
  if (e.code !== ErrorCode.NOT_REGISTERED) return null;
  // No device.json in the profile: never registered, a register that did not finish (it
  // was killed before it kept its keys, leaving the directory empty), or unregistered.
  if (e.message === NO_DEVICE_MESSAGE) {
    return 'this profile is not registered: it holds no device (its registration did not finish, or it was unregistered); ' +
      'register it with hushwire register --gateway URL --number NUMBER --profile DIR (into the same directory)';
  }
  // This device, gone since the command opened the profile or at the relay: an unregister
  // from another terminal or from a copy of the profile, an expiry, or another device
  // registered into the profile meanwhile (client/store.ts, client/client.ts,
  // client/connection-core.ts, the relay's "this device is no longer registered").
  if (e.message.startsWith('not registered:') || e.message === 'this device is no longer registered') {
    return 'this profile\'s device is no longer registered (unregistered from another terminal or from a copy of this profile, ' +
      'or expired at the relay): if the profile still holds it, run hushwire unregister --profile DIR --forget-locally; ' +
      'then register again with hushwire register --gateway URL --number NUMBER --profile DIR';
  }
  return null;
}

/** A profile without gateways.json (deleted, or lost in a copy): the SDK's words are a
 *  developer's (ClientOptions.gateways), and its "register the profile" is wrong for a
 *  profile that holds a device (register refuses it: already registered). The CLI has
 *  no option for the gateways: the file is what to restore. Null for other errors. */
export function noGatewaysMessage(e: HushwireError): string | null {
  if (e.code !== ErrorCode.BAD_REQUEST || e.message !== NO_GATEWAYS_MESSAGE) return null;
  return 'this profile has no gateway list (its gateways.json is missing): write it again with the gateway URLs it was registered with, ' +
    '{"version":1,"gateways":["ws://HOST:PORT/ws"]}';
}

/** The SDK's refusals of a profile directory name its option (profileDir) and API
 *  (HushwireClient.register), which a CLI user never typed: said with the CLI's --profile
 *  (or HUSHWIRE_PROFILE, which sets it) and commands instead, the code unchanged. Null
 *  for other errors. */
export function profileDirMessage(e: HushwireError): string | null {
  if (e.code !== ErrorCode.BAD_REQUEST) return null;
  const flag = '--profile (or HUSHWIRE_PROFILE)';
  switch (e.message) {
    case PROFILE_DIR_MESSAGES.notADirectory:
      return `${flag} is a file, or lies under one, not a directory: give the directory that hushwire register made`;
    case PROFILE_DIR_MESSAGES.insideAFile:
      return `${flag} lies inside a file, where no directory can be made: nothing was registered; give the path of a new or empty directory for the profile`;
    case PROFILE_DIR_MESSAGES.isAFile:
      return `${flag} is a file, not a directory: nothing was registered; give the path of a new or empty directory for the profile`;
  }
  if (e.message.startsWith(`${PROFILE_DIR_MESSAGES.foreignEntriesStart} `)) {
    return `${flag} names a directory that${e.message.slice('profileDir'.length)}`;
  }
  return null;
}

/** Commander's message on one line ("unknown command 'x'\n(Did you mean y?)" was two),
 *  with what to do for the two mistakes a message text makes: one that starts with '-'
 *  reads as an option, one not quoted as several arguments. */
function usageMessage(e: CommanderError): string {
  const msg = e.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim();
  if (e.code === 'commander.unknownOption') {
    const flag = /^unknown option '(.*)'/s.exec(msg)?.[1] ?? '';
    // Not an option's name: a text or number that starts with '-'. Not quoted back (it
    // may be a message's text).
    if (!/^--?[A-Za-z][\w-]*(=.*)?$/s.test(flag)) {
      return 'an argument starts with \'-\' but is no option of this command: put a text or value that starts with - after --, e.g. hushwire send --to +15550000002 -- \'-5 degrees here\' (or a send\'s text in --text=\'-5 degrees here\')';
    }
  }
  // `hushwire help nosuch`, `hushwire help --help`, and no command at all (`hushwire`
  // alone, `hushwire oprf-key` alone): commander prints the command list as an error and
  // throws '(outputHelp)', which said nothing. One error for all of them, so the line
  // must not say that help was run.
  if (e.code === 'commander.help') return 'name one of the commands listed above (add --help after it for what it takes)';
  if (e.code === 'commander.excessArguments' && / for 'send'/.test(msg)) return `${msg} Quote the text, so that it is one argument`;
  // accept-keys --safety-number 04762 34804 ...: the groups after the first are arguments.
  if (e.code === 'commander.excessArguments' && / for 'accept-keys'/.test(msg)) return `${msg} Quote the safety number, so that it is one argument: --safety-number "04762 34804 ..."`;
  return msg;
}

/** The one stderr line for an error. */
export function formatError(e: unknown): string {
  if (e instanceof CommanderError) return `hushwire: ${usageMessage(e)} (BAD_REQUEST)`;
  if (e instanceof HushwireError) return `hushwire: ${notRegisteredMessage(e) ?? optOutUnconfirmedMessage(e) ?? noGatewaysMessage(e) ?? profileDirMessage(e) ?? e.message}${retryHint(e)}${authHint(e)} (${e.code})`;
  const msg = e instanceof Error ? e.message : String(e);
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  return `hushwire: ${msg.split('\n')[0]} (${typeof errno === 'string' ? errno : 'INTERNAL'})`;
}

export function reportError(e: unknown): number {
  process.stderr.write(formatError(e) + '\n');
  if (process.env.HUSHWIRE_DEBUG === '1' && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return exitCodeFor(e);
}
