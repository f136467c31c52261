// hushwire send: one message to every device of a number; prints {"id","status"}.
import { Command } from 'commander';
import { HushwireClient, MAX_TEXT_BYTES } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { numberOption, profileOption, printJson, parseTimeoutSeconds, keyChangeLine, storeWarning, requireProfileDir, connectWithin } from '../options.ts';

/** The text given as `-`: stdin, read to its end, at most MAX_TEXT_BYTES of UTF-8 after
 *  one trailing line break is taken off (what `echo` and a terminal's last Enter add).
 *  Reading stops as soon as it is over that (TOO_LARGE), so a large file or an endless
 *  pipe costs no more memory than one message. */
export async function readTextFromStdin(max = MAX_TEXT_BYTES): Promise<string> {
  // Two bytes more than a message holds: a text of exactly `max` bytes may end in "\r\n".
  const limit = max + 2;
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(c);
    size += c.length;
    if (size > limit) {
      over = true;
      break; // ends the iteration, which destroys stdin
    }
  }
  let buf = Buffer.concat(chunks, size);
  if (!over) {
    if (buf.length > 0 && buf[buf.length - 1] === 0x0a) buf = buf.subarray(0, buf.length - (buf.length > 1 && buf[buf.length - 2] === 0x0d ? 2 : 1));
  }
  if (over || buf.length > max) {
    throw new HushwireError(ErrorCode.TOO_LARGE, `the text read from stdin is over ${max.toLocaleString('en-US')} bytes of UTF-8, the most one message holds: nothing was sent`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch (e) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'the text read from stdin is not UTF-8: nothing was sent', { cause: e });
  }
}

/** What `send -` says at a terminal before it reads the message. */
export const STDIN_PROMPT = 'type the message, then Enter and Ctrl-D to send it (Ctrl-C: nothing is sent)\n';

export function sendCommand(): Command {
  return new Command('send')
    .description('send an end-to-end encrypted text; prints {"id","status"} once every recipient device has it (delivered or stored)')
    .addOption(profileOption())
    .requiredOption('--to <e164>', "recipient's phone number in E.164 form")
    .option('--timeout <seconds>', 'give up after this many seconds to reach a gateway (exit 5), then after as long again at most for the send itself', parseTimeoutSeconds, 30)
    .option('--text <text>', 'the message text, taken as it is (also "-" or a text that starts with -); instead of the argument')
    .argument('[text]', 'message text (UTF-8); - reads it from stdin')
    .addHelpText('after', '\nQuote the text (one argument); one that starts with - goes after -- or in --text:\n  hushwire send --to +15550000002 -- \'-5 degrees here\'\n  hushwire send --to +15550000002 --text=\'-5 degrees here\'\nA text of - alone reads the message from stdin, to its end (one trailing line break taken\noff): echo hello | hushwire send --to +15550000002 -\nTo send the text "-" itself: hushwire send --to +15550000002 --text -\n\nA text and the sealed sender fields together may take 65,535 bytes (the largest padding\nbucket), so a text of up to 65,341 bytes of UTF-8 (as many ASCII characters, fewer in other\nscripts); longer is refused with TOO_LARGE (exit 2) before anything is sent, from stdin too\n(it is read no further). An empty text\nis allowed. When the recipient\'s keys changed since you verified them, nothing is sent and\nit exits 7 (IDENTITY_CHANGED): compare safety numbers again (hushwire safety-number) or\naccept the new keys (hushwire accept-keys).')
    .action(async (arg: string | undefined, opts: { profile: string; to: string; timeout: number; text?: string }) => {
      if (arg !== undefined && opts.text !== undefined) throw new HushwireError(ErrorCode.BAD_REQUEST, 'give the text as the argument or with --text, not both');
      if (arg === undefined && opts.text === undefined) throw new HushwireError(ErrorCode.BAD_REQUEST, 'no text given: pass it as the argument (- reads it from stdin) or with --text');
      const to = numberOption(opts.to, '--to');
      // receive: false: deliveries for this profile stay queued for its `listen`.
      requireProfileDir(opts.profile);
      const client = await HushwireClient.open(opts.profile, {
        receive: false,
        sendTimeoutMs: opts.timeout * 1000,
        onKeyChange: (ch) => process.stderr.write(`${keyChangeLine(ch)}\n`),
        onStoreError: storeWarning,
      });
      try {
        // After the profile was found registered (open reads it and connects to nothing),
        // before the send connects: at a terminal the user types the text (Ctrl-D ends it).
        // At a terminal, `send -` waited without a word: say what it waits for (stderr,
        // so stdout stays the one JSON line).
        if (opts.text === undefined && arg === '-' && process.stdin.isTTY) process.stderr.write(STDIN_PROMPT);
        const text = opts.text ?? (arg === '-' ? await readTextFromStdin() : arg!);
        // The SDK bounds a first connect by its attempts, not by the send's deadline: at a
        // gateway that takes the connection but never answers (hung, overloaded, a proxy
        // with no backend) that is 3 attempts of 5 s, and a send --timeout 5 took 17 s.
        // The connect gets --timeout here; the send, once connected, gets it again at most.
        await connectWithin(client, opts.timeout, 'nothing was sent');
        const result = await client.send(to, text);
        printJson({ id: result.id, status: result.status });
      } catch (e) {
        // The SDK's message names its functions; say what to run instead.
        if (e instanceof HushwireError && e.code === ErrorCode.IDENTITY_CHANGED) {
          const sent = e.maybeDelivered ? 'it reached some of their devices before the change was seen' : 'nothing was sent';
          throw new HushwireError(e.code, `this contact's keys changed since you verified or accepted them, ${sent}: compare safety numbers again (hushwire safety-number, then verify-contact) or accept the new keys (hushwire accept-keys)`, { cause: e, maybeDelivered: e.maybeDelivered });
        }
        throw e;
      } finally {
        await client.close();
      }
    });
}
