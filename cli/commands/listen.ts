// hushwire listen: print each received message as one JSON line
// {"id","from","text","sentAt","senderKeys"}; `from` is the sender's number from inside the
// envelope, checked against the directory. Rides through gateway loss: the client
// reconnects with backoff, rotating through the profile's gateways.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { HushwireClient, type DropReason, type StateChange } from '../../client/index.ts';
import { HushwireError, ErrorCode, CloseCode } from '../../relay/errors.ts';
import { profileOption, parseTimeoutSeconds, parseCount, keyChangeLine, storeWarning, requireProfileDir } from '../options.ts';
import { takeReaderLock } from '../reader-lock.ts';

/** The stderr line for a message dropped for good, by reason. */
export const DROPPED: Readonly<Record<DropReason, string>> = {
  unverified: 'dropped a message for good: its sender can no longer be verified (their number opted out or expired since they sent it); it will not come again; to print such messages instead, flagged "verified":false, run listen with --accept-unverified',
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

/** How a line's write ended: written whole, or abandoned because listen was stopped
 *  (signal, --timeout) while the write was still waiting for stdout to take it. */
type WriteOutcome = 'written' | 'abandoned';

/** writeLine, unless `stopping` settles first while the write still waits (the reader of
 *  a pipe stopped reading, and the pipe is full): then 'abandoned', and the write is
 *  cancelled (abandonStdout), so it neither completes later nor keeps the process alive.
 *  Bytes of the line the pipe took before it filled stay there: a cut line. Rejects as
 *  writeLine does when the write fails. */
async function writeLineUnless(line: string, stopping: Promise<void>): Promise<WriteOutcome> {
  let done = false;
  let failed: { error: unknown } | undefined;
  const write = writeLine(line).then(() => { done = true; }, (error: unknown) => { failed = { error }; });
  const stopped = await Promise.race([write.then(() => false), stopping.then(() => true)]);
  // A write the kernel finished just as the stop came has its callback in the event loop's
  // next turn: let it arrive (or its error), rather than give back a line printed whole.
  if (stopped) await new Promise((r) => setImmediate(r));
  if (failed) throw failed.error;
  if (done) return 'written';
  abandonStdout();
  return 'abandoned';
}

/** Cancels stdout's pending writes. process.stdout.destroy() does not (Node keeps the
 *  stdio streams open: it only marks them destroyed), and a pending write to a pipe keeps
 *  the event loop alive, so a listen ending with exit 0 would wait for its reader for ever.
 *  Closing the stream's handle cancels them (their callbacks get ECANCELED, which the
 *  error listener of stdoutErrorsHandledHere takes); without a handle to close (not
 *  expected: only pipes and sockets have writes that wait) the process is ended 1 s after
 *  listen returned, if it is still there. */
function abandonStdout(): void {
  const handle = (process.stdout as unknown as { _handle?: { close?: () => void } | null })._handle;
  if (handle && typeof handle.close === 'function') {
    handle.close();
    return;
  }
  setTimeout(() => process.exit(), 1000).unref();
}

/** Marks stdout's errors as handled here: bin/hushwire.js ends the process at once on an
 *  EPIPE only when nobody else listens for stdout errors, and listen must first give back
 *  the message it could not print. */
function stdoutErrorsHandledHere(): void {
  // The write's callback gets the error; the stream's 'error' event needs a listener too.
  process.stdout.on('error', () => {});
}

/** What a message neither written nor given back means, and how to get it back. */
const LOST = 'it stays recorded as shown, so the next listen will not show it (deleting the profile\'s state.json brings it back; messages already shown may then come again)';

/** The stderr line's words for a write abandoned at a stop. */
const STALLED = 'stdout did not take the last message in time (its reader stopped reading?): it was kept for the next listen (a cut line of it may be left in the pipe; it comes again whole)';

/** The stderr lines for a connection lost after listen was connected, and for its return. */
export const CONNECTION_LOST = 'hushwire: connection to the gateway lost; reconnecting (messages wait in your mailbox)';
export const RECONNECTED = 'hushwire: reconnected';

/** Says on stderr when a connection that was up is lost (once, however many attempts the
 *  outage takes) and when it is back. Nothing before the first connect (connect() itself
 *  reports a gateway it cannot reach), nothing at the end (closed), nothing for a takeover
 *  by a `send` of the same profile against an older gateway (4003: listen takes the
 *  device back after a moment, nothing was lost). */
export function outageReporter(write: (line: string) => void): { onState(change: StateChange): void } {
  let wasConnected = false;
  let down = false;
  return {
    onState(change) {
      if (change.to === 'connected') {
        if (down) write(RECONNECTED);
        down = false;
        wasConnected = true;
      } else if (change.to === 'disconnected' && wasConnected && !down && change.code !== CloseCode.CONNECTED_ELSEWHERE) {
        down = true;
        write(CONNECTION_LOST);
      }
    },
  };
}

/** First-connect attempts of `listen`: full-jitter backoff from 250 ms to 10 s makes ~30 s. */
export const LISTEN_CONNECT_ATTEMPTS = 12;

export function listenCommand(): Command {
  return new Command('listen')
    .description('print received messages, one JSON line each: {"id","from","text","sentAt","senderKeys"} ("verified" too with --accept-unverified)')
    .addOption(profileOption())
    .option('--count <n>', 'exit 0 after n messages', parseCount)
    .option('--timeout <seconds>', 'give up after this many seconds (exit 3 unless --count messages arrived; exit 5 if no gateway was reached by then)', parseTimeoutSeconds)
    .option('--accept-unverified', 'also print messages whose sender the directory no longer knows (opted out or expired since sending), with "verified":false; without it they are dropped, with a line on stderr')
    .addHelpText('after', '\nAt start it tries for about half a minute to reach a gateway (exit 5 if none answers).\nsenderKeys is verified, unverified or changed: the sending device\'s key as this profile knows it\n(hushwire safety-number). A notice that another device registered this number, or that a\ncontact\'s (or your own number\'s) keys changed, is printed to stderr, and so is a line for\neach message dropped (its sender no longer verifiable, spoofed, or unreadable).\nWithout --count, runs until SIGINT or SIGTERM (then exits 0). Rides through gateway loss by\nreconnecting (rotating through the profile\'s gateways), saying so on stderr: one line when the\nconnection is lost, one when it is back (none per attempt). A `send` from the same profile does\nnot disturb it (send connects send-only; against an older gateway it briefly takes the device\nover, and listen reconnects after it). One listen per profile: a second\none is refused (a reader that was killed leaves a stale lock, which the next one takes over).\nAn unregister of the profile from another terminal ends it with exit 4 (NOT_REGISTERED).\nEach message is acknowledged only once it was written to stdout. When stdout is a pipe whose\nreader has exited (listen | head -1), listen exits 0 at the next message (not before: it\nlearns the reader is gone only when it writes), which stays queued for the next listen; one\nalready in the pipe when its reader exited is gone with the pipe (head reads ahead): use\n--count to take an exact number of messages. A reader that stopped reading without exiting\nleaves listen waiting for it to take the next line, until SIGINT, SIGTERM or --timeout: then\nthat message is kept for the next listen (part of its line may be left cut in the pipe;\nthe message comes again whole), said on stderr, and listen exits as usual (0, or 3 at\n--timeout). A message it can neither write nor give back (the profile cannot be written either:\na full disk) ends it with exit 1, saying it will not come again.')
    .action(async (opts: { profile: string; count?: number; timeout?: number; acceptUnverified?: boolean }) => {
      // Opening first: a directory that is no profile is NOT_REGISTERED, and no lock is
      // made in it.
      requireProfileDir(opts.profile);
      const outage = outageReporter((line) => process.stderr.write(`${line}\n`));
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
        // A lost gateway is said (once per outage, not per attempt), and so is its return:
        // a silent reconnect loop looked like an empty mailbox.
        onState: (change) => outage.onState(change),
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
      // A stop came while stdout had not taken a line yet (its reader stopped reading): the
      // write was abandoned and its message given back.
      let stdoutStalled = false;
      // A message that could be neither written nor given back: said even after a stop.
      let lost: HushwireError | undefined;
      // Settles at a stop (signal, --timeout): a line's write still waiting then is abandoned.
      let stopNow!: () => void;
      const stopping = new Promise<void>((resolve) => { stopNow = resolve; });
      const stop = () => {
        stopped = true;
        stopNow();
        void client.close();
      };
      const timer = opts.timeout === undefined ? null : setTimeout(() => {
        timedOut = true;
        stopNow();
        void client.close();
      }, opts.timeout * 1000);
      // `on`, not `once`: once a state.json write took the profile's record lock,
      // proper-lockfile's signal-exit listens too, and re-raises a signal when it finds
      // itself the only listener left, which a `once` listener already taken off made it:
      // listen died of the signal (exit 130/143) before closing and removing listen.lock.
      // A second signal while it stops ends it at once, as the signal's default would.
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
        signalled = true;
        stop();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
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
            let outcome: WriteOutcome;
            try {
              // A stop (signal, --timeout) does not wait for a stdout that takes nothing
              // (`listen | slow-consumer` whose reader stopped reading, the pipe full): the
              // write is abandoned and the message given back below.
              outcome = await writeLineUnless(JSON.stringify(opts.acceptUnverified
                ? { id: m.id, from: m.from, text: m.text, sentAt: m.sentAt, verified: m.verified, senderKeys: m.senderKeys }
                : { id: m.id, from: m.from, text: m.text, sentAt: m.sentAt, senderKeys: m.senderKeys }), stopping);
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code;
              const why = typeof code === 'string' ? code : 'write failed';
              // A failed profile write is said on stderr already (onStoreError). Then the
              // message stays recorded as shown (written before it was handed over), and
              // the next listen drops it as seen: said, exit 1, also after an EPIPE (a
              // full disk under `listen > file` fails both writes).
              const givenBack = await client.giveBack(m).then(() => true, () => false);
              if (!givenBack) {
                throw (lost = new HushwireError(ErrorCode.INTERNAL, `could not write a message to stdout (${why}), and could not forget it in the profile either (see the warning above): ${LOST}`));
              }
              if (code === 'EPIPE') {
                stdoutGone = true;
                break;
              }
              // Another failure (a full disk under `listen > file`): said, exit 1.
              throw new HushwireError(ErrorCode.INTERNAL, `could not write a message to stdout (${why}): it was kept for the next listen`);
            }
            if (outcome === 'abandoned') {
              // Given back, never acknowledged: the relay delivers it again to the next
              // listen (giveBack works after the close the stop began).
              const givenBack = await client.giveBack(m).then(() => true, () => false);
              if (!givenBack) {
                throw (lost = new HushwireError(ErrorCode.INTERNAL, `stdout did not take the last message in time, and it could not be forgotten in the profile either (see the warning above): ${LOST}`));
              }
              stdoutStalled = true;
              break;
            }
            client.ack(m);
            n++;
            if (opts.count !== undefined && n >= opts.count) break;
          }
        }
      } catch (e) {
        // A close we asked for (timeout, signal) is not an error of its own; a message lost
        // meanwhile is.
        if (e === lost) throw e;
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
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        await client.close();
        release();
      }
      if (stdoutGone) return;
      if (stdoutStalled && timedOut) {
        throw new HushwireError(ErrorCode.TIMEOUT, `timed out after ${n} message${n === 1 ? '' : 's'}; ${STALLED}`);
      }
      if (stdoutStalled) {
        process.stderr.write(`warning: ${STALLED}\n`);
        return;
      }
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
