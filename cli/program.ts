// The `hushwire` command tree without the gateway, so handset commands can be built
// and tested on their own; main.ts adds the gateway command.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommand } from './commands/register.ts';
import { sendCommand } from './commands/send.ts';
import { listenCommand } from './commands/listen.ts';
import { unregisterCommand } from './commands/unregister.ts';
import { rotatePrekeyCommand } from './commands/rotate-prekey.ts';
import { safetyNumberCommand, verifyContactCommand, acceptKeysCommand } from './commands/contact-keys.ts';
import { discoverCommand } from './commands/discover.ts';
import { reportError, EXIT_CODES_HELP } from './errors.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Commander prints its own errors and exits; route both through reportError instead. */
function quiet(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ outputError: () => {} });
  for (const sub of cmd.commands) quiet(sub);
}

export function buildProgram(extra: Command[] = []): Command {
  const program = new Command('hushwire')
    .description('Hushwire: private, end-to-end encrypted messaging between phone numbers')
    .version(pkg.version)
    .showSuggestionAfterError()
    // Options belong to the command they follow: `bench compare a b --json` is compare's
    // --json, not bench's (commander needs this on every ancestor of such a command).
    .enablePositionalOptions()
    .addCommand(registerCommand())
    .addCommand(sendCommand())
    .addCommand(discoverCommand())
    .addCommand(listenCommand())
    .addCommand(unregisterCommand())
    .addCommand(rotatePrekeyCommand())
    .addCommand(safetyNumberCommand())
    .addCommand(verifyContactCommand())
    .addCommand(acceptKeysCommand());
  for (const c of extra) program.addCommand(c);
  program.addHelpText('after', EXIT_CODES_HELP);
  quiet(program);
  return program;
}

/** Runs a program; returns the exit code (the process is left to end by itself). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // --help and --version also end through exitOverride, with exit code 0.
    if (e instanceof CommanderError && e.exitCode === 0) return 0;
    return reportError(e);
  }
}
