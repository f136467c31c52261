// hushwire send: one message to every device of a number; prints {"id","status"}.
import { Command } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { numberOption, profileOption, printJson, parsePositive, keyChangeLine, storeWarning, requireProfileDir } from '../options.ts';

export function sendCommand(): Command {
  return new Command('send')
    .description('send an end-to-end encrypted text; prints {"id","status"} once every recipient device has it (delivered or stored)')
    .addOption(profileOption())
    .requiredOption('--to <e164>', "recipient's phone number in E.164 form")
    .option('--timeout <seconds>', 'give up after this many seconds', parsePositive, 30)
    .argument('<text>', 'message text (UTF-8)')
    .addHelpText('after', '\nQuote the text (one argument); one that starts with - goes after --:\n  hushwire send --to +15550000002 -- \'-5 degrees here\'\n\nA text and the sealed sender fields together may take 65,535 bytes (the largest padding\nbucket), so a text of up to 65,341 bytes of UTF-8 (as many ASCII characters, fewer in other\nscripts); longer is refused with TOO_LARGE (exit 2) before anything is sent. An empty text\nis allowed. When the recipient\'s keys changed since you verified them, nothing is sent and\nit exits 7 (IDENTITY_CHANGED): compare safety numbers again (hushwire safety-number) or\naccept the new keys (hushwire accept-keys).')
    .action(async (text: string, opts: { profile: string; to: string; timeout: number }) => {
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
