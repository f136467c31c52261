// hushwire register: opt in with a number and create this profile's device.
import { Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { HushwireClient } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { numberOption, profileOption, printJson, gatewayUrlOption, storeWarning } from '../options.ts';
import type { VerifyInfo } from '../../client/register.ts';
import { holdSignals, signalExitCode } from '../signal-hold.ts';

/** No default: a missing --gateway is commander's "required option" error. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The terminal prompt: the time left is the gateway's (client/register.ts verifyInfo). */
export function codePrompt(info: VerifyInfo): string {
  const s = info.answerWithinS;
  const left = s >= 120 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  return `verification code (enter within ${left}): `;
}

/** Asks on the terminal. Without one, reads the first line of stdin (a script pipes
 *  the code in once the SMS arrives: it cannot know it before, each start makes a new
 *  one), within the time the gateway keeps the code; EOF or the deadline fails.
 *  `onCtrlC`: Ctrl-C at the terminal's prompt, which is no signal there (readline has
 *  the terminal raw; without this listener it closed the prompt, and register failed
 *  "Aborted with Ctrl+C (ABORT_ERR)", exit 1). */
async function promptCode(info: VerifyInfo, onCtrlC: () => void): Promise<string> {
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      process.stdin.setRawMode(false);
      onCtrlC();
    });
    try {
      return await rl.question(codePrompt(info));
    } finally {
      rl.close();
    }
  }
  const rl = createInterface({ input: process.stdin, terminal: false });
  let timer: NodeJS.Timeout | undefined;
  try {
    const line = await Promise.race([
      rl[Symbol.asyncIterator]().next().then((r) => (r.done ? null : r.value)),
      new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), Math.max(1, info.answerWithinS) * 1000); }),
    ]);
    if (line === 'late') throw new HushwireError(ErrorCode.VERIFY_FAILED, 'the verification code was sent, but none arrived on stdin in time');
    if (line === null) throw new HushwireError(ErrorCode.VERIFY_FAILED, 'the verification code was sent, but stdin ended before a code was given (run at a terminal, or pipe the code in)');
    return line;
  } finally {
    clearTimeout(timer);
    rl.close();
  }
}

export function registerCommand(): Command {
  return new Command('register')
    .description('opt in: verify a phone number and register this device (keys stay in the profile)')
    .addOption(new Option('--gateway <url>', 'gateway WebSocket URL, e.g. ws://host:8080/ws (repeat for several)')
      .argParser(collect).makeOptionMandatory())
    .requiredOption('--number <e164>', 'your phone number in E.164 form, e.g. +15550100001')
    .addOption(profileOption(true))
    .addHelpText('after', '\nPrints {"status":"registered","device"} (the new device\'s id, hex).')
    .option('--code <code>', 'verification code when known before the command runs (a test verifier); otherwise it is asked for on the terminal, or read from the first line of stdin')
    .action(async (opts: { gateway: string[]; number: string; profile: string; code?: string }) => {
      // Check the number before touching the network or the disk.
      const number = numberOption(opts.number, '--number');
      if (opts.gateway.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'at least one --gateway is required');
      const gateways = opts.gateway.map(gatewayUrlOption);
      const code = opts.code;
      // A signal must not end the process between the relay registering the device and
      // the profile keeping its keys: the relay would list, under the user's number, a
      // device whose keys nobody holds (senders seal to it; nobody can unregister it). So
      // the registration in flight is let finish, then undone; while the code is asked
      // for nothing is registered yet, and a second signal always ends it at once.
      // The first signal also aborts the SDK's register: a wait before verify_start is
      // asked again (the gateway answered that it sent no code) or before the register is
      // sent again (the gateway answered UNAVAILABLE, TIMEOUT or RATE_LIMITED) ends at once,
      // the connection closed and the profile's lock released, and a register under way
      // is not followed by another (client/register.ts; the gateway removes a device a
      // lost answer left listed when the connection closes).
      // Whether the SDK asked for the code: a gateway with the insecure dev verifier hands
      // it back itself, and a --code given then is not used (said below, not silently).
      let codeAsked = false;
      const abort = new AbortController();
      const hold = holdSignals('hushwire: interrupted: stopping the registration (a register already sent is let end, then undone; signal again to stop at once)', (signal) => abort.abort(new Error(`interrupted by ${signal}`)));
      try {
        let result: Awaited<ReturnType<typeof HushwireClient.register>>;
        try {
          result = await HushwireClient.register({
            profileDir: opts.profile,
            gateways,
            number,
            signal: abort.signal,
            // The own number's baseline, kept in keys.json at registration: a failed write
            // is said on stderr (the registration stands; the first listen takes it).
            onStoreError: storeWarning,
            verifyCode: code !== undefined ? async () => { codeAsked = true; return code; } : async (info) => {
              // A signal that came before the code is asked for: nothing is registered yet.
              if (hold.interrupted !== undefined) {
                hold.endBy(hold.interrupted);
                return new Promise<string>(() => {});
              }
              hold.atOnce = true;
              try {
                // Ctrl-C at the terminal's prompt is what a SIGINT is elsewhere: the end,
                // by SIGINT (test/client/cli-signal-again.test.ts).
                return await promptCode(info, () => hold.endBy('SIGINT'));
              } finally {
                hold.atOnce = false;
              }
            },
          });
        } catch (e) {
          const stopped = hold.interrupted;
          if (stopped === undefined || !abort.signal.aborted || e !== abort.signal.reason) throw e;
          // Stopped before the gateway registered the device: nothing to undo. The
          // connection is closed and the lock released (the SDK's abort): ended by the
          // signal, as at the code prompt (a shell shows 130, 143).
          process.stderr.write('hushwire: interrupted: the registration was stopped before it was registered (nothing to undo)\n');
          hold.endBy(stopped);
          return;
        }
        if (code !== undefined && !codeAsked) {
          process.stderr.write('hushwire: --code was not used: the gateway handed the verification code back itself (its insecure dev verifier)\n');
        }
        const interrupted = hold.interrupted;
        if (interrupted === undefined) {
          printJson({ status: 'registered', device: result.device });
          return;
        }
        const client = await HushwireClient.open(opts.profile, { receive: false });
        try {
          await client.unregister();
        } catch (e) {
          throw new HushwireError(ErrorCode.UNAVAILABLE, `interrupted, and the registration just made could not be undone (${e instanceof Error ? e.message : String(e)}): the profile keeps it; run hushwire unregister --profile with it`, { cause: e });
        } finally {
          await client.close();
        }
        process.stderr.write('hushwire: interrupted: the registration was undone\n');
        process.exitCode = signalExitCode(interrupted);
      } finally {
        hold.release();
      }
    });
}
