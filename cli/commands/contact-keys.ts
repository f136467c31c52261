// hushwire safety-number / verify-contact / accept-keys: the CLI's side of contact keys
// (docs/CLIENT.md, "Contact keys and safety numbers"). safety-number prints the 60 digits
// two users compare over another channel; verify-contact records a match (sends to that
// contact are then held if its keys change); accept-keys takes a contact's keys as now
// listed after such a change. Each opens the profile with receive: false, so deliveries
// stay queued for the profile's `listen`.
import { Command } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { parseSafetyNumber } from '../../relay/crypto/safety-number.ts';
import { numberOption, profileOption, printJson, storeWarning, requireProfileDir, keyChangeLine, timeoutOption, connectWithin, finishWithin } from '../options.ts';

/** What a command's --timeout does; `nothingDone`: what a connect past it leaves undone,
 *  `afterwards`: what an answer past it leaves. */
interface Deadline {
  timeoutS: number | undefined;
  nothingDone: string;
  afterwards: string;
}

function timeout(what: string): ReturnType<typeof timeoutOption> {
  return timeoutOption(`give up after this many seconds to reach a gateway (exit 5, ${what}), then after as long again at most for its answers (exit 3)`);
}

async function withClient<T>(profile: string, deadline: Deadline, fn: (c: HushwireClient) => Promise<T>): Promise<T> {
  requireProfileDir(profile);
  // A change the lookup finds is said here as send and listen say it: the key book tells
  // a change once, so one found by safety-number (an unverified contact's new device)
  // was told to nobody, and the next send said nothing either.
  const client = await HushwireClient.open(profile, { receive: false, prekeyRotationMs: 0, onStoreError: storeWarning, onKeyChange: (ch) => process.stderr.write(`${keyChangeLine(ch)}\n`) });
  try {
    if (deadline.timeoutS === undefined) return await fn(client);
    // The connect within --timeout (the SDK's own attempts took ~17 s at a gateway that
    // never answers), then the lookups within it again.
    await connectWithin(client, deadline.timeoutS, deadline.nothingDone);
    return await finishWithin(fn(client), deadline.timeoutS, deadline.afterwards);
  } finally {
    await client.close();
  }
}

export function safetyNumberCommand(): Command {
  return new Command('safety-number')
    .description('print the safety number of you and a contact, to compare with theirs (in person, or over another channel)')
    .addOption(profileOption())
    .requiredOption('--to <e164>', "the contact's phone number in E.164 form")
    .addOption(timeout('nothing asked'))
    .addHelpText('after', '\nPrints {"safetyNumber","status","devices","ownDevices"}: 60 digits in 12 groups of 5, the\nsame on both phones while both see the same keys; the contact\'s status (unverified, verified,\nor changed: sends held); how many devices each number has. If the other phone shows the same\ndigits, run `hushwire verify-contact --to <e164> <digits>`.')
    .action(async (opts: { profile: string; to: string; timeout?: number }) => {
      const to = numberOption(opts.to, '--to');
      const s = await withClient(opts.profile, { timeoutS: opts.timeout, nothingDone: 'nothing was asked', afterwards: 'no safety number was printed' }, (c) => c.safetyNumber(to));
      printJson({ safetyNumber: s.groups.join(' '), status: s.status, devices: s.devices, ownDevices: s.ownDevices });
    });
}

export function verifyContactCommand(): Command {
  return new Command('verify-contact')
    .description('mark a contact verified: the safety number you compared must match the keys listed now')
    .addOption(profileOption())
    .requiredOption('--to <e164>', "the contact's phone number in E.164 form")
    .addOption(timeout('nothing marked'))
    .argument('<digits...>', 'the 60-digit safety number as the other phone shows it (spaces allowed)')
    .addHelpText('after', '\nPrints {"status":"verified"}. A number that does not match (the keys changed since it was\nshown, or the two phones see different keys) exits 7 (IDENTITY_CHANGED) and changes nothing.\nOnce verified, a change of the contact\'s keys holds every send to it (exit 7) until you\ncompare again or run `hushwire accept-keys`.')
    .action(async (digits: string[], opts: { profile: string; to: string; timeout?: number }) => {
      const to = numberOption(opts.to, '--to');
      await withClient(opts.profile, { timeoutS: opts.timeout, nothingDone: 'nothing was marked', afterwards: 'the contact may or may not have been marked verified (hushwire safety-number shows its status)' }, (c) => c.verifyContact(to, digits.join(' '))).catch((e: unknown) => {
        if (e instanceof HushwireError && e.code === ErrorCode.IDENTITY_CHANGED) {
          throw new HushwireError(e.code, 'the safety number does not match the keys listed now for this contact and you: run hushwire safety-number again on both phones and compare; nothing was marked', { cause: e });
        }
        throw e;
      });
      printJson({ status: 'verified' });
    });
}

export function acceptKeysCommand(): Command {
  return new Command('accept-keys')
    .description("accept a contact's keys as listed now, after they changed (sends to it go through again; it is no longer verified)")
    .addOption(profileOption())
    .requiredOption('--to <e164>', "the contact's phone number in E.164 form")
    .addOption(timeout('nothing accepted'))
    .option('--safety-number <digits>', 'accept only the keys this safety number (as hushwire safety-number printed it, in quotes) was computed for; if others are listed by now, exit 7 and nothing is accepted')
    .addHelpText('after', '\nPrints {"status":"unverified"}: the keys listed now are accepted, and the contact is no longer\nverified (compare safety numbers again and run verify-contact to verify it again). When the\ncontact is verified and the keys listed now are those you verified, there is nothing to accept:\nit prints {"status":"verified"}, changes nothing, and says so on stderr.')
    .action(async (opts: { profile: string; to: string; safetyNumber?: string; timeout?: number }) => {
      const to = numberOption(opts.to, '--to');
      const given = opts.safetyNumber === undefined ? undefined : parseSafetyNumber(opts.safetyNumber);
      const status = await withClient(opts.profile, { timeoutS: opts.timeout, nothingDone: 'nothing was accepted', afterwards: 'the keys may or may not have been accepted (hushwire safety-number shows the contact\'s status)' }, async (c) => {
        // Accepting ends a verification: on a contact verified for exactly the keys listed
        // now (a fresh lookup) that would only throw the verification away, which nobody
        // running accept-keys asked for.
        const now = await c.safetyNumber(to);
        if (now.status === 'verified' && (given === undefined || given === now.digits)) return 'verified' as const;
        await c.acceptContactKeys(to, opts.safetyNumber);
        return 'unverified' as const;
      }).catch((e: unknown) => {
        if (e instanceof HushwireError && e.code === ErrorCode.IDENTITY_CHANGED) {
          throw new HushwireError(e.code, 'the keys listed for this contact are not the ones that safety number was printed for: run hushwire safety-number again, then accept; nothing was accepted', { cause: e });
        }
        throw e;
      });
      if (status === 'verified') process.stderr.write('notice: nothing to accept: the keys listed for this contact are the ones you verified; it stays verified\n');
      printJson({ status });
    });
}
