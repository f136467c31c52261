// hushwire unregister: opt out. The relay erases this device's keys, directory entry
// and queued mail; the profile's device.json, state.json, routes.json and keys.json are
// deleted (gateways.json is kept).
import { Command } from 'commander';
import { HushwireClient, HushwireError, isHushwireError, ErrorCode } from '../../client/index.ts';
import { profileOption, printJson, requireProfileDir, timeoutOption, connectWithin, onceConnectedTimeout } from '../options.ts';
import { forgetDevice, loadDevice } from '../../client/profile.ts';
import { holdSignals, signalExitCode } from '../signal-hold.ts';

export function unregisterCommand(): Command {
  return new Command('unregister')
    .description("opt out: erase this device from the relay (keys, directory entry, queued mail) and from the profile")
    .addOption(profileOption())
    .option('--forget-locally', "only delete this profile's keys, state, learned routes and contacts' keys, without telling the relay (for a profile whose gateway was reset or is gone, or whose device.json is damaged; the relay keeps this device until it is unregistered or swept)")
    .addOption(timeoutOption('give up after this many seconds to reach a gateway (exit 5, nothing done: the device stays registered); the opt-out\'s request then has as long again at most (an opt-out once begun is not cut off otherwise)'))
    .addHelpText('after', "\nPrints {\"status\":\"unregistered\"}, or {\"status\":\"forgotten locally\"} with --forget-locally.\nWithout --forget-locally the relay must be reachable and accept this profile's key; a dev\ngateway (npm start) forgets every registration when it restarts, so its old profiles can\nonly be forgotten locally. A SIGINT or SIGTERM while it connects ends it at once (nothing done);\none once the opt-out has begun lets it finish (the relay's erase, then the profile's files),\nprints its result and exits 130 or 143; a second signal stops it at once.\nAn opt-out that failed once sent (UNAVAILABLE, a timeout, a lost connection) may have gone\nthrough: run unregister again; if the relay then refuses this profile's key, it says that the\nearlier opt-out most likely went through (exit 6), and --forget-locally deletes what is left here.")
    .action(async (opts: { profile: string; forgetLocally?: boolean; timeout?: number }) => {
      requireProfileDir(opts.profile);
      if (opts.forgetLocally) {
        // Refuses a directory that is not a registered profile (NOT_REGISTERED), like the
        // relay path does, so a wrong --profile deletes nothing; holds the profile's
        // identity lock, as register and the relay path do (client/profile.ts).
        await forgetDevice(opts.profile);
        printJson({ status: 'forgotten locally' });
        return;
      }
      // No automatic prekey rotation on the connect below: the opt-out would wait for it.
      // --timeout: the connect within it (the SDK's own attempts took ~17 s at a gateway that
      // never answers), then the opt-out's request within it (requestTimeoutMs), never cut
      // off from here: the relay may have erased the device, the profile's files must go too.
      const client = await HushwireClient.open(opts.profile, { receive: false, prekeyRotationMs: 0, ...(opts.timeout !== undefined ? { requestTimeoutMs: opts.timeout * 1000 } : {}) });
      // A signal must not end the process between the relay erasing the device and the
      // profile deleting its files: device.json would be left, the profile looking
      // registered with a device the relay no longer knows (every later command refused
      // AUTH_FAILED). So once the opt-out has begun (it may be in flight at the relay)
      // a first signal lets it finish, then ends with the signal's exit code; a second
      // ends it at once, as does a signal before it began (nothing was done).
      const hold = holdSignals('hushwire: interrupted: letting the opt-out under way finish, so that the profile does not outlive it at the relay (signal again to stop at once)');
      try {
        // Connected first, a signal ending it at once meanwhile: nothing is asked of the
        // relay before the opt-out itself. Before, the connect was part of unregister():
        // a Ctrl-C at a gateway that does not answer said an opt-out was under way and
        // waited out the connect attempts (some 15 s), then exit 5 with nothing done.
        hold.atOnce = true;
        try {
          if (opts.timeout !== undefined) await connectWithin(client, opts.timeout, 'nothing was done (the device is still registered)');
          else await client.connect();
        } catch (e) {
          // Refused by the relay: the device may be one another process has just opted
          // out (the relay erased it, that process is deleting the profile's files under
          // its lock). unregister() waits for that lock and then says NOT_REGISTERED; for
          // a device the relay simply does not know it fails AUTH_FAILED as this did.
          if (!isHushwireError(e) || e.code !== ErrorCode.AUTH_FAILED) throw e;
        }
        hold.atOnce = false;
        // The opt-out's request past --timeout: the SDK said only "request timed out".
        const began = Date.now();
        await client.unregister().catch(async (e: unknown) => {
          if (opts.timeout !== undefined && isHushwireError(e) && e.code === ErrorCode.TIMEOUT) {
            throw onceConnectedTimeout(e, opts.timeout, 'the relay may or may not have erased this device, and the profile still holds it: run hushwire unregister again (should the gateway then refuse the profile\'s key, the relay did erase it: hushwire unregister --forget-locally)');
          }
          throw await sentWithoutAnswer(e, opts.profile, began);
        });
      } finally {
        try {
          await client.close();
        } finally {
          hold.release();
        }
      }
      printJson({ status: 'unregistered' });
      const interrupted = hold.interrupted;
      if (interrupted !== undefined) {
        process.stderr.write('hushwire: interrupted: the opt-out was finished first (the relay and the profile no longer hold this device)\n');
        process.exitCode = signalExitCode(interrupted);
      }
    });
}

/** An opt-out that failed after its request went out (the profile's opt-out marker was
 *  written by this run: client/opt-out-marker.ts), UNAVAILABLE or TIMEOUT (a relay's
 *  failure, a lost connection, no answer): the relay may have erased the device all the
 *  same (a NATS outage past the gateway's wait), which the SDK's words ("directory
 *  unavailable") do not say. Said so, with what the retry does; the code and the wait
 *  the relay asked for unchanged. Anything else as it is. */
async function sentWithoutAnswer(e: unknown, dir: string, began: number): Promise<unknown> {
  if (!isHushwireError(e) || (e.code !== ErrorCode.UNAVAILABLE && e.code !== ErrorCode.TIMEOUT) || e.optOutUnconfirmed) return e;
  const marker = await loadDevice(dir).then((p) => p.optOut, () => undefined);
  if (marker === undefined || marker.sentAt < began) return e;
  return new HushwireError(e.code, `${e.message}: the opt-out's request was sent, and the relay may have erased this device all the same: ` +
    'run hushwire unregister again (it finishes the opt-out, or says that it went through)', { cause: e, retryAfterMs: e.retryAfterMs });
}
