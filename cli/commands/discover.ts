// hushwire discover: a contact sync from the terminal. Which of these numbers use
// Hushwire? The numbers never leave the handset in clear (blinded VOPRF evaluation,
// fixed-size lookups: client/contacts.ts); prints one JSON line per distinct number,
// {"number","registered","devices"}, in the order given. Numbers come as arguments, or
// one per line from a file (`--file -` reads stdin), so an address book export can be
// piped in. Each number counts against the device's discovery budget (docs/PRIVACY.md):
// past it, RATE_LIMITED (exit 5) and nothing is printed.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { MAX_DISCOVER } from '../../client/contacts.ts';
import { parseE164 } from '../../relay/number.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { profileOption, printJson, storeWarning, requireProfileDir, keyChangeLine, timeoutOption, connectWithin, finishWithin } from '../options.ts';

/** The most a --file may hold: 10,000 numbers of up to 32 characters, a little over. */
const MAX_FILE_BYTES = 1 << 20;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_FILE_BYTES) throw tooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, `the numbers file is over ${MAX_FILE_BYTES} bytes (at most ${MAX_DISCOVER} numbers per discover)`);
}

async function readNumbersFile(path: string): Promise<string[]> {
  let text: string;
  if (path === '-') {
    // At a terminal it waited without a word (as send - did): say what for, on stderr.
    if (process.stdin.isTTY) process.stderr.write('type the numbers, one per line, then Enter and Ctrl-D (Ctrl-C: nothing is asked)\n');
    text = await readStdin();
  } else {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      // A usage error (exit 2) that says which option, not a bare "ENOENT: ..., open".
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : `${code ?? 'error'}`;
      throw new HushwireError(ErrorCode.BAD_REQUEST, `cannot read the --file numbers file (${why}): give a text file with one number per line, or - for stdin`, { cause: e });
    }
    if (buf.length > MAX_FILE_BYTES) throw tooLarge();
    text = buf.toString('utf8');
  }
  // Blank lines and # comments are skipped; a line's position (never its text: it is a
  // phone number) names a bad one.
  const out: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const s = line.trim();
    if (s === '' || s.startsWith('#')) return;
    out.push(checked(s, `line ${i + 1}`));
  });
  return out;
}

function checked(number: string, where: string): string {
  try {
    return parseE164(number);
  } catch {
    throw new HushwireError(ErrorCode.BAD_NUMBER, `${where} is not a phone number in E.164 form (e.g. +15550000001)`);
  }
}

export function discoverCommand(): Command {
  return new Command('discover')
    .description('which of these numbers use Hushwire (a contact sync; the numbers are blinded, never sent in clear); prints {"number","registered","devices"} per number')
    .addOption(profileOption())
    .option('--file <path>', 'read the numbers from a file, one per line (blank lines and # comments skipped); - reads stdin')
    .addOption(timeoutOption('give up after this many seconds to reach a gateway (exit 5, nothing asked), then after as long again at most for the lookups (exit 3, nothing printed)'))
    .argument('[numbers...]', 'phone numbers in E.164 form')
    .addHelpText('after', `\nAt most ${MAX_DISCOVER} numbers per run. Each one counts against this device's discovery budget at\nthe relay (2,000 in a device's first 24 hours, then 100 per 24 hours by default): sync once,\nthen ask only about new contacts. Past the budget it exits 5 (RATE_LIMITED) and prints nothing.\nThe contacts found are remembered in the profile (their routes, and their devices' keys as\nfirst seen), so a later send to them asks the relay for nothing more.`)
    .action(async (args: string[], opts: { profile: string; file?: string; timeout?: number }) => {
      if (args.length > 0 && opts.file !== undefined) throw new InvalidArgumentError('give the numbers as arguments or with --file, not both');
      const numbers = opts.file !== undefined ? await readNumbersFile(opts.file) : args.map((n, i) => checked(n, `argument ${i + 1}`));
      if (numbers.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'no numbers given: pass them as arguments, or with --file (- for stdin)');
      if (numbers.length > MAX_DISCOVER) throw new HushwireError(ErrorCode.BAD_REQUEST, `at most ${MAX_DISCOVER} numbers per discover`);
      requireProfileDir(opts.profile);
      // A known contact's keys changed since: said, as send and listen say it (told once).
      const client = await HushwireClient.open(opts.profile, { receive: false, prekeyRotationMs: 0, onStoreError: storeWarning, onKeyChange: (ch) => process.stderr.write(`${keyChangeLine(ch)}\n`) });
      try {
        // --timeout: the connect within it (the SDK's own attempts took ~17 s at a gateway
        // that never answers), then the lookups within it again.
        if (opts.timeout !== undefined) await connectWithin(client, opts.timeout, 'nothing was asked');
        const found = opts.timeout === undefined ? await client.discover(numbers) : await finishWithin(client.discover(numbers), opts.timeout, 'nothing was printed (the numbers asked about may have counted against the discovery budget)');
        for (const [number, s] of found) printJson({ number, registered: s.registered, devices: s.devices });
      } finally {
        await client.close();
      }
    });
}
