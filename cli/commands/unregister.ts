// hushwire unregister: opt out. The relay erases this device's keys, directory entry
// and queued mail; the profile's device.json, state.json, routes.json and keys.json are
// deleted (gateways.json is kept).
import { Command } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { profileOption, printJson, requireProfileDir } from '../options.ts';
import { forgetDevice } from '../../client/profile.ts';

export function unregisterCommand(): Command {
  return new Command('unregister')
    .description("opt out: erase this device from the relay (keys, directory entry, queued mail) and from the profile")
    .addOption(profileOption())
    .option('--forget-locally', "only delete this profile's keys, state, learned routes and contacts' keys, without telling the relay (for a profile whose gateway was reset or is gone, or whose device.json is damaged; the relay keeps this device until it is unregistered or swept)")
    .addHelpText('after', "\nPrints {\"status\":\"unregistered\"}, or {\"status\":\"forgotten locally\"} with --forget-locally.\nWithout --forget-locally the relay must be reachable and accept this profile's key; a dev\ngateway (npm start) forgets every registration when it restarts, so its old profiles can\nonly be forgotten locally.")
    .action(async (opts: { profile: string; forgetLocally?: boolean }) => {
      requireProfileDir(opts.profile);
      if (opts.forgetLocally) {
        // Refuses a directory that is not a registered profile (NOT_REGISTERED), like the
        // relay path does, so a wrong --profile deletes nothing; holds the profile's
        // identity lock, as register and the relay path do (client/profile.ts).
        await forgetDevice(opts.profile);
        printJson({ status: 'forgotten locally' });
        return;
      }
      const client = await HushwireClient.open(opts.profile, { receive: false });
      try {
        await client.unregister();
      } finally {
        await client.close();
      }
      printJson({ status: 'unregistered' });
    });
}
