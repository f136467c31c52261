// The CLI's one stderr line per error (cli/errors.ts formatError), without a process:
// what a user reads when a command fails.
import t from 'tap';
import { formatError } from '../../cli/errors.ts';
import { cliFailure } from '../helpers/cli.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

t.test('RATE_LIMITED says when to try again, when the relay said', async (t) => {
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 44_200 })), 'hushwire: slow down; try again in 45 s (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 899_000 })), 'hushwire: slow down; try again in 15 min (RATE_LIMITED)');
  // A spent discovery budget says up to a day: hours, not "1440 min".
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 7_140_000 })), 'hushwire: slow down; try again in 119 min (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 7_200_000 })), 'hushwire: slow down; try again in 2 h (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 86_300_000 })), 'hushwire: slow down; try again in 23 h 59 min (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 86_400_000 })), 'hushwire: slow down; try again in 24 h (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down')), 'hushwire: slow down (RATE_LIMITED)', 'no time given: none made up');
});

t.test('UNAVAILABLE says when to try again too, when the relay said', async (t) => {
  // A store busy or unreachable, an evaluator down: the relay's retry_after_ms.
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, 'rate-limit store busy, retry', { retryAfterMs: 250 })), 'hushwire: rate-limit store busy, retry; try again in 1 s (UNAVAILABLE)');
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator unavailable', { retryAfterMs: 2000 })), 'hushwire: OPRF evaluator unavailable; try again in 2 s (UNAVAILABLE)');
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, 'down', { retryAfterMs: 899_000 })), 'hushwire: down; try again in 15 min (UNAVAILABLE)');
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, 'no gateway reachable')), 'hushwire: no gateway reachable (UNAVAILABLE)', 'no time given: none made up');
  // The SDK's registration that got no code says "try again in a moment" itself
  // (client/register.ts): not a second time.
  const { NO_CODE_SENT_SOON } = await import('../../client/register.ts');
  const noCode = `the gateway could not send a verification code (rate-limit store unavailable, UNAVAILABLE; asked 5 times): the number was not sent a code${NO_CODE_SENT_SOON}`;
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, noCode, { retryAfterMs: 1000 })), `hushwire: ${noCode} (UNAVAILABLE)`, 'said once');
  // Other codes carry no wait to say.
  t.equal(formatError(new HushwireError(ErrorCode.TIMEOUT, 'request timed out', { retryAfterMs: 5000 })), 'hushwire: request timed out (TIMEOUT)');
});

t.test('usage errors: one line, and what to do about a text taken for options or arguments', async (t) => {
  const { buildProgram } = await import('../../cli/program.ts');
  const { oprfKeyCommand } = await import('../../cli/commands/oprf.ts');
  const usage = async (argv: string[]): Promise<string> => {
    try {
      await buildProgram([oprfKeyCommand()]).parseAsync(['node', 'hushwire', ...argv]);
    } catch (e) {
      return formatError(e);
    }
    throw new Error('parsed');
  };
  t.equal(await usage(['sned']), "hushwire: unknown command 'sned' (Did you mean send?) (BAD_REQUEST)", 'the suggestion on the same line');
  // The command list goes to stderr before the line (commander's own output). The same
  // error (commander.help) comes from a help without a command's name and from no command
  // at all (hushwire alone, or a command of commands such as oprf-key alone): the line
  // must fit each, so it does not say that help was run.
  for (const argv of [['help', 'nosuch'], ['help', '--help'], [], ['oprf-key']]) {
    t.equal(await usage(argv), 'hushwire: name one of the commands listed above (add --help after it for what it takes) (BAD_REQUEST)', `${argv.join(' ') || '(no arguments)'}: says what to do, not '(outputHelp)', nor that help was run`);
  }
  const dash = await usage(['send', '--profile', '/nowhere', '--to', '+15550000002', '-5 degrees, secret']);
  t.match(dash, /^hushwire: an argument starts with '-' but is no option of this command: put a text or value that starts with - after --/);
  t.notMatch(dash, /secret/, 'the text is not quoted back');
  t.equal(await usage(['send', '--profile', '/nowhere', '--to', '+15550000002', '--tiemout', '5', 'x']), "hushwire: unknown option '--tiemout' (Did you mean --timeout?) (BAD_REQUEST)", 'a misspelt option is still named');
  t.equal(await usage(['send', '--profile', '/nowhere', '--to', '+15550000002', 'hello', 'world']), "hushwire: too many arguments for 'send'. Expected 1 argument but got 2. Quote the text, so that it is one argument (BAD_REQUEST)");
  // The safety number as printed, in groups, without quotes: 11 groups become arguments.
  t.equal(await usage(['accept-keys', '--profile', '/nowhere', '--to', '+15550000002', '--safety-number', ...'04762 34804 92399 92342 64552 87626 27995 93968 94383 87364 39659 63004'.split(' ')]), 'hushwire: too many arguments for \'accept-keys\'. Expected 0 arguments but got 11. Quote the safety number, so that it is one argument: --safety-number "04762 34804 ..." (BAD_REQUEST)');
});

t.test('a number that is not E.164 names the option and the form, never the value', async (t) => {
  const failure = async (argv: string[]): Promise<string> => formatError(await cliFailure(argv));
  const form = 'is not a phone number in E.164 form: +, the country code and the number, e.g. +15550000001 (BAD_NUMBER)';
  // Checked before the profile (which does not exist) is opened or the gateway dialed.
  t.equal(await failure(['send', '--profile', '/nonexistent-hw', '--to', '5550000277', 'x']), `hushwire: --to ${form}`);
  t.equal(await failure(['register', '--gateway', 'ws://127.0.0.1:9/ws', '--profile', '/nonexistent-hw', '--number', '555-0277']), `hushwire: --number ${form}`);
  for (const c of ['safety-number', 'accept-keys']) t.equal(await failure([c, '--profile', '/nonexistent-hw', '--to', '0277']), `hushwire: --to ${form}`, c);
  t.equal(await failure(['verify-contact', '--profile', '/nonexistent-hw', '--to', '+0277', '1'.repeat(60)]), `hushwire: --to ${form}`);
});

t.test('a --profile that does not exist is said so (exit 4), not "run hushwire register"', async (t) => {
  const { exitCodeFor } = await import('../../cli/errors.ts');
  const { tempDir } = await import('../helpers/temp.ts');
  const { join } = await import('node:path');
  const { existsSync } = await import('node:fs');
  const missing = join(tempDir('hw-cli-errors-'), 'alcie');
  const p = ['--profile', missing];
  for (const argv of [['send', ...p, '--to', '+15550000277', 'x'], ['listen', ...p], ['discover', ...p, '+15550000277'], ['rotate-prekey', ...p], ['unregister', ...p], ['unregister', ...p, '--forget-locally'], ['safety-number', ...p, '--to', '+15550000277'], ['verify-contact', ...p, '--to', '+15550000277', '1'.repeat(60)], ['accept-keys', ...p, '--to', '+15550000277']]) {
    const e = await cliFailure(argv);
    t.equal(formatError(e), `hushwire: no profile at ${missing}: the directory does not exist (check --profile or HUSHWIRE_PROFILE; hushwire register makes a new profile) (NOT_REGISTERED)`, argv.join(' '));
    t.equal(exitCodeFor(e), 4, `${argv[0]}: exit 4 as before`);
  }
  t.notOk(existsSync(missing), 'nothing made');
});

t.test("a --profile that is a file is said with --profile, not the SDK's profileDir (the code, BAD_REQUEST, unchanged)", async (t) => {
  const { exitCodeFor } = await import('../../cli/errors.ts');
  const { tempDir } = await import('../helpers/temp.ts');
  const { join } = await import('node:path');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const dir = tempDir('hw-cli-errors-file-');
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'not a profile\n');
  const cases: [string[], string][] = [
    // The SDK: "the profile directory (profileDir; the CLI's --profile) is a file, ... (HushwireClient.register, hushwire register)".
    [['send', '--profile', file, '--to', '+15550000277', 'x'], 'hushwire: --profile (or HUSHWIRE_PROFILE) is a file, or lies under one, not a directory: give the directory that hushwire register made (BAD_REQUEST)'],
    [['register', '--gateway', 'ws://127.0.0.1:1/ws', '--number', '+15550000277', '--profile', file], 'hushwire: --profile (or HUSHWIRE_PROFILE) is a file, not a directory: nothing was registered; give the path of a new or empty directory for the profile (BAD_REQUEST)'],
  ];
  for (const [argv, line] of cases) {
    const e = await cliFailure(argv);
    t.equal(formatError(e), line, argv[0]);
    t.equal((e as HushwireError).code, ErrorCode.BAD_REQUEST, `${argv[0]}: the SDK's code`);
    t.equal(exitCodeFor(e), 2, `${argv[0]}: exit 2`);
  }
  const full = join(dir, 'home');
  mkdirSync(full);
  writeFileSync(join(full, 'a'), '');
  writeFileSync(join(full, 'b'), '');
  t.equal(formatError(await cliFailure(['register', '--gateway', 'ws://127.0.0.1:1/ws', '--number', '+15550000277', '--profile', full])),
    'hushwire: --profile (or HUSHWIRE_PROFILE) names a directory that already exists and holds 2 entries that are not part of a Hushwire profile: give a new or empty directory (a registration makes it private, 0700, and keeps keys in it) (BAD_REQUEST)');
});

t.test("close()'s late profile writes are said in the CLI's terms, not the SDK's closeTimeoutMs", async (t) => {
  const { storeWarningLine } = await import('../../cli/options.ts');
  const { CLOSE_LATE_MESSAGE, CLOSE_TIMEOUT_MS } = await import('../../client/client.ts');
  // The SDK's message as close() makes it with the default the CLI keeps (5 s);
  // test/client/close-deadline.test.ts provokes it with a stalled store.
  const sdk = `${CLOSE_LATE_MESSAGE.start}${CLOSE_TIMEOUT_MS}${CLOSE_LATE_MESSAGE.end}`;
  t.match(sdk, /closeTimeoutMs/, 'the SDK names its option');
  const line = storeWarningLine(new HushwireError(ErrorCode.UNAVAILABLE, sdk));
  t.equal(line, 'warning: profile: the profile\'s files were not written within 5 s of the command\'s end (a stalled disk?): the connection is closed, and the writes are still under way');
  t.notMatch(line, /closeTimeoutMs|close\(\)|client/, 'no SDK option, call or word');
  // Every other store problem: the SDK's words, as before.
  t.equal(storeWarningLine(new HushwireError(ErrorCode.UNAVAILABLE, 'keys.json could not be written: EIO')), 'warning: profile: keys.json could not be written: EIO');
  t.equal(storeWarningLine(new Error('first\nsecond')), 'warning: profile: first');
});
