// hushwire rotate-prekey: replace this device's prekey now (docs/CLIENT.md, "Prekey
// rotation"); prints {"status":"rotated"}. The old prekey's secret stays in the profile
// to open mail sealed to it until the retention window has passed (33 days, or the
// mailbox max age the gateways tell plus 3 days when longer, at most 400 days).
import { Command } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { profileOption, printJson, requireProfileDir, timeoutOption, connectWithin, onceConnectedTimeout } from '../options.ts';

export function rotatePrekeyCommand(): Command {
  return new Command('rotate-prekey')
    .description('replace this device\'s prekey (the key senders seal to) with a new one; the old one keeps opening mail sealed to it for 33 days (or as long as the gateways say they keep mail, plus 3 days, at most 400), then is deleted')
    .addOption(profileOption())
    .addOption(timeoutOption('give up after this many seconds to reach a gateway (exit 5, the prekey not replaced), then the gateway has as long again at most to answer the rotation (past it: exit 3, the new key kept and sent again by the next rotate-prekey, listen or send)'))
    .addHelpText('after', '\nA listen (or any client of the profile) also rotates by itself every 7 days. The gateway\nallows one rotation per device per --prekey-rotation-interval-s (15 minutes by default): a\nsooner one ends RATE_LIMITED (exit 5, saying when to try again), its new key kept and sent\nagain by the next rotate-prekey, listen or send. Takes the profile\'s lock, like register and unregister.')
    .action(async (opts: { profile: string; timeout?: number }) => {
      // receive: false: deliveries stay queued for the profile's `listen`; no automatic
      // rotation besides this one.
      requireProfileDir(opts.profile);
      // --timeout: the connect within it (the SDK's own attempts took ~17 s at a gateway that
      // never answers), then the rotation's request within it (requestTimeoutMs: the SDK
      // ends its rotation itself, the new key kept pending, rather than it being cut off).
      const client = await HushwireClient.open(opts.profile, { receive: false, prekeyRotationMs: 0, ...(opts.timeout !== undefined ? { requestTimeoutMs: opts.timeout * 1000 } : {}) });
      try {
        if (opts.timeout !== undefined) await connectWithin(client, opts.timeout, 'the prekey was not replaced');
        await client.rotatePrekey();
      } catch (e) {
        if (e instanceof HushwireError && e.code === ErrorCode.RATE_LIMITED) {
          throw new HushwireError(e.code, 'this device\'s prekey was replaced less than the gateway\'s interval ago (one rotation per --prekey-rotation-interval-s, 15 minutes by default); the new key is kept and sent again by the next rotate-prekey, listen or send', { cause: e, retryAfterMs: e.retryAfterMs });
        }
        // The rotation's request past --timeout: the SDK said only "request timed out".
        throw opts.timeout === undefined ? e : onceConnectedTimeout(e, opts.timeout, 'the gateway may or may not have taken the new prekey: it is kept and sent again by the next rotate-prekey, listen or send');
      } finally {
        await client.close();
      }
      printJson({ status: 'rotated' });
    });
}
