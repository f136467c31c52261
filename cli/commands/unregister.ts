// hushwire unregister: opt out. The relay erases this device's keys, directory entry
// and queued mail; the profile's device.json and state.json are deleted.
import { Command } from 'commander';
import { HushwireClient } from '../../client/index.ts';
import { profileOption, printJson } from '../options.ts';

export function unregisterCommand(): Command {
  return new Command('unregister')
    .description("opt out: erase this device from the relay (keys, directory entry, queued mail) and from the profile")
    .addOption(profileOption())
    .action(async (opts: { profile: string }) => {
      const client = await HushwireClient.open(opts.profile, { receive: false });
      try {
        await client.unregister();
      } finally {
        await client.close();
      }
      printJson({ status: 'unregistered' });
    });
}
