// hushwire listen: print each received message as one JSON line
// {"id","from","text","sentAt","senderKeys"}; `from` is the sender's number from inside the
// envelope, checked against the directory. Rides through gateway loss: the client
// reconnects with backoff, rotating through the profile's gateways.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { HushwireClient, type DropReason } from '../../client/index.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { profileOption, parsePositive, parseCount, keyChangeLine, storeWarning, requireProfileDir } from '../options.ts';
import { takeReaderLock } from '../reader-lock.ts';

/** The stderr line for a message dropped for good, by reason. */
export const DROPPED: Readonly<Record<DropReason, string>> = {
  unverified: 'dropped a message: its sender can no longer be verified (their number opted out or expired since they sent it); listen --accept-unverified prints such messages with "verified":false',
  spoofed: 'dropped a message: the sender number inside does not match the directory (spoofed, or sent from a device of that number that has since opted out)',
  unreadable: 'dropped a message that could not be opened with this device\'s keys (damaged, or not text)',
};

/** The device id in the profile's device.json: undefined when there is none (opted out,
 *  or forgotten), the given `fallback` when it cannot be read (not taken for a change). */
function profileDevice(profile: string, fallback: string): string | undefined {
  try {
    const id = (JSON.parse(readFileSync(join(profile, 'device.json'), 'utf8')) as { device?: unknown }).device;
    return typeof id === 'string' ? id : fallback;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : fallback;
  }
}

/** Whether the profile no longer holds the device `deviceId`: an unregister (or a
 *  forget and a new registration) from another process. An unregister ends this
 *  listen's device at the relay before it deletes device.json, holding profile.lock
 *  meanwhile, so while that lock is there this waits for it (up to 10 s). */
async function deviceLeftProfile(profile: string, deviceId: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (profileDevice(profile, deviceId) !== deviceId) return true;
    if (!existsSync(join(profile, 'profile.lock')) || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes one line to stdout; resolves once it was written, rejects when it could not be
 *  (EPIPE: the reader of a pipe exited). */
function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(line + '\n', (err) => (err ? reject(err) : resolve()));
  });
}

/** Marks stdout's errors as handled here: bin/hushwire.js ends the process at once on an
 *  EPIPE only when nobody else listens for stdout errors, and listen must first give back
 *  the message it could not print. */
function stdoutErrorsHandledHere(): void {
  // The write's callback gets the error; the stream's 'error' event needs a listener too.
  process.stdout.on('error', () => {});
}

/** First-connect attempts of `listen`: full-jitter backoff from 250 ms to 10 s makes ~30 s. */
export const LISTEN_CONNECT_ATTEMPTS = 12;

export function listenCommand(): Command {
  return new Command('listen')
    .description('print received messages, one JSON line each: {"id","from","text","sentAt","senderKeys"} ("verified" too with --accept-unverified)')
    .addOption(profileOption())
    .option('--count <n>', 'exit 0 after n messages', parseCount)
    .option('--timeout <seconds>', 'give up after this many seconds (exit 3 unless --count messages arrived; exit 5 if no gateway was reached by then)', parsePositive)
    .option('--accept-unverified', 'also print messages whose sender the directory no longer knows (opted out or expired since sending), with "verified":false; without it they are dropped, with a line on stderr')
    .addHelpText('after', '\nAt start it tries for about half a minute to reach a gateway (exit 5 if none answers).\nsenderKeys is verified, unverified or changed: the sending device\'s key as this profile knows it\n(hushwire safety-number). A notice that another device registered this number, or that a\ncontact\'s (or your own number\'s) keys changed, is printed to stderr, and so is a line for\neach message dropped (its sender no longer verifiable, spoofed, or unreadable).\nWithout --count, runs until SIGINT or SIGTERM (then exits 0). Rides through gateway loss by\nreconnecting (rotating through the profile\'s gateways). A `send` from the same profile does\nnot disturb it (send connects send-only; against an older gateway it briefly takes the device\nover, and listen reconnects after it). One listen per profile: a second\none is refused (a reader that was killed leaves a stale lock, which the next one takes over).\nAn unregister of the profile from another terminal ends it with exit 4 (NOT_REGISTERED).\nEach message is acknowledged only once it was written to stdout. When stdout is a pipe whose\nreader has exited (listen | head -1), listen exits 0 at the next message (not before: it\nlearns the reader is gone only when it writes), which stays queued for the next listen; one\nalready in the pipe when its reader exited is gone with the pipe (head reads ahead): use\n--count to take an exact number of messages. A message it can neither write nor give back (the\nprofile cannot be written either: a full disk) ends it with exit 1, saying it will not come again.')
    .action(async (opts: { profile: string; count?: number; timeout?: number; acceptUnverified?: boolean }) => {
      // Opening first: a directory that is no profile is NOT_REGISTERED, and no lock is
      // made in it.
      requireProfileDir(opts.profile);
      const client = await HushwireClient.open(opts.profile, {
        // A `send` on the same profile connects send-only and takes nothing over; against a
        // gateway older than send-only connections it takes the device for a moment: come back after.
        reclaimAfterTakeover: true,
        // A listener started while its gateway restarts should wait for it: about half a
        // minute of attempts with backoff (a send keeps the short default).
        connectAttempts: LISTEN_CONNECT_ATTEMPTS,
        // Security notices go to stderr, so stdout stays one JSON line per message.
        onNotice: (n) => {
          if (n.kind === 'new_device') {
            process.stderr.write(`notice: another device registered this number at ${new Date(n.atMs).toISOString()}; if that was not you, your number may have been taken over\n`);
          }
        },
        onKeyChange: (ch) => process.stderr.write(`${keyChangeLine(ch)}\n`),
        // A failed write of the profile (a message is then neither printed nor
        // acknowledged, and tried again), a damaged keys.json: said, not ridden out silently.
        onStoreError: storeWarning,
        acceptUnverified: opts.acceptUnverified === true,
        // A message dropped for good is said (its reason only): a silent drop looked like
        // mail that never came.
        onDropped: (reason) => process.stderr.write(`${DROPPED[reason]}\n`),
      });
      let release: () => void;
      try {
        release = takeReaderLock(opts.profile);
      } catch (e) {
        await client.close();
        throw e;
      }
      let timedOut = false;
      let stopped = false;
      let connected = false;
      // Nobody reads stdout any more: the end the user asked for (listen | head -1), exit 0.
      let stdoutGone = false;
      const stop = () => {
        stopped = true;
        void client.close();
      };
      const timer = opts.timeout === undefined ? null : setTimeout(() => {
        timedOut = true;
        void client.close();
      }, opts.timeout * 1000);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let n = 0;
      stdoutErrorsHandledHere();
      try {
        await client.connect();
        connected = true;
        if (opts.count === undefined || n < opts.count) {
          // Manual acks: a message is acknowledged only once its line was written. One that
          // cannot be (EPIPE: `listen | head -1` after head exited) is given back, its id
          // forgotten in the profile and no ack sent, so the relay keeps it for the next
          // listen; an ack sent first lost it.
          for await (const m of client.messages({ manualAck: true })) {
            try {
              await writeLine(JSON.stringify(opts.acceptUnverified
                ? { id: m.id, from: m.from, text: m.text, sentAt: m.sentAt, verified: m.verified, senderKeys: m.senderKeys }
                : { id: m.id, from: m.from, text: m.text, sentAt: m.sentAt, senderKeys: m.senderKeys }));
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code;
              const why = typeof code === 'string' ? code : 'write failed';
              // A failed profile write is said on stderr already (onStoreError). Then the
              // message stays recorded as shown (written before it was handed over), and
              // the next listen drops it as seen: said, exit 1, also after an EPIPE (a
              // full disk under `listen > file` fails both writes).
              const givenBack = await client.giveBack(m).then(() => true, () => false);
              if (!givenBack) {
                throw new HushwireError(ErrorCode.INTERNAL, `could not write a message to stdout (${why}), and could not forget it in the profile either (see the warning above): ` +
                  'it stays recorded as shown, so the next listen will not show it (deleting the profile\'s state.json brings it back; messages already shown may then come again)');
              }
              if (code === 'EPIPE') {
                stdoutGone = true;
                break;
              }
              // Another failure (a full disk under `listen > file`): said, exit 1.
              throw new HushwireError(ErrorCode.INTERNAL, `could not write a message to stdout (${why}): it was kept for the next listen`);
            }
            client.ack(m);
            n++;
            if (opts.count !== undefined && n >= opts.count) break;
          }
        }
      } catch (e) {
        // A close we asked for (timeout, signal) is not an error of its own.
        if (!timedOut && !stopped) {
          // The relay refuses a device that was unregistered: from another terminal, that
          // is no "authentication failed" (which reads as a broken key or a wrong gateway).
          // NOT_REGISTERED: the relay closed this connection 4006 (an unregister beside it,
          // which connects send-only and no longer takes the device from listen first).
          if (e instanceof HushwireError && (e.code === ErrorCode.AUTH_FAILED || e.code === ErrorCode.NOT_REGISTERED) && await deviceLeftProfile(opts.profile, client.deviceId)) {
            throw new HushwireError(ErrorCode.NOT_REGISTERED, 'this profile\'s device was unregistered while listen ran (hushwire unregister, from another terminal?): register again to receive', { cause: e });
          }
          throw e;
        }
      } finally {
        if (timer) clearTimeout(timer);
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        await client.close();
        release();
      }
      if (stdoutGone) return;
      if (timedOut && !connected) {
        // Not "timed out after 0 messages": that reads as an empty mailbox, while no
        // gateway was ever reached (it is down, or the profile names the wrong one).
        throw new HushwireError(ErrorCode.UNAVAILABLE, `no gateway answered within --timeout ${opts.timeout} s (listen was still trying to connect): check that the profile's gateway is running and reachable`);
      }
      if (timedOut && (opts.count === undefined || n < opts.count)) {
        throw new HushwireError(ErrorCode.TIMEOUT, `timed out after ${n} message${n === 1 ? '' : 's'}`);
      }
    });
}
