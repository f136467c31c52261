// Holding SIGINT/SIGTERM while a CLI operation that must not be cut in half finishes
// (register: the relay registering the device vs the profile keeping its keys;
// unregister: the relay erasing it vs the profile deleting its files).
//
// A first signal is held: `message` goes to stderr and the command goes on, reading
// `interrupted` when it is done (then exiting with `signalExitCode`). A second signal,
// or any signal while `atOnce` is set (nothing to protect at that point), ends the
// process by the signal itself: the listeners are removed and the signal sent again, as
// without them, so that proper-lockfile's signal-exit (listening once the profile's lock
// was taken) removes the lock first.

export interface SignalHold {
  /** The first signal, held; undefined while none came. */
  readonly interrupted: NodeJS.Signals | undefined;
  /** While true, a signal ends the process at once (e.g. while register asks for the code). */
  atOnce: boolean;
  /** Ends the process by `signal` now: the listeners removed, the signal sent again. */
  endBy(signal: NodeJS.Signals): void;
  /** Stops holding (the operation is over, or failed): the listeners are removed. */
  release(): void;
}

/** Starts listening for SIGINT and SIGTERM; `message` is written (with a newline) at the
 *  first one, and `onFirst` called with it (register aborts its retry waits so). Call
 *  `release()` in a finally. */
export function holdSignals(message: string, onFirst?: (signal: NodeJS.Signals) => void): SignalHold {
  let interrupted: NodeJS.Signals | undefined;
  const release = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  const endBy = (signal: NodeJS.Signals): void => {
    release();
    process.kill(process.pid, signal);
    // The signal reaches its handlers (signal-exit's, or Node's default end) in a later
    // turn of the event loop, which must still be running then: a command with nothing
    // left to wait for (register stopped by its abort, connection closed, lock
    // released) would otherwise exit 0 first. Should the signal not end it, the exit
    // code a shell shows for it.
    setTimeout(() => process.exit(signalExitCode(signal)), 1000);
  };
  const hold: SignalHold = {
    get interrupted() { return interrupted; },
    atOnce: false,
    endBy,
    release,
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (hold.atOnce || interrupted !== undefined) {
      endBy(signal);
      return;
    }
    interrupted = signal;
    process.stderr.write(`${message}\n`);
    onFirst?.(signal);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return hold;
}

/** The exit code of a command that finished after a held signal: 130 (SIGINT), 143 (SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}
