// A stand-in for node:timers/promises' setTimeout (given to t.mockImport) that never ends
// by itself: it ends only when its signal aborts, rejecting with an AbortError as node's
// does. Tests of close()/stop() use it to prove a wait is woken, not waited out.

export interface HookedSleep {
  /** The replacement for `setTimeout` of node:timers/promises. */
  setTimeout: (ms: number, value?: unknown, opts?: { signal?: AbortSignal }) => Promise<void>;
  /** Every call, in order: its delay and the signal it was given. */
  calls: { ms: number; signal: AbortSignal | undefined }[];
}

/** `events` gets `waits` at each call and 'its wait woken' when a signal aborts one. */
export function sleepUntilAborted(events: string[], waits: string): HookedSleep {
  const calls: HookedSleep['calls'] = [];
  const setTimeout = (ms: number, _value?: unknown, opts?: { signal?: AbortSignal }): Promise<void> => {
    const signal = opts?.signal;
    calls.push({ ms, signal });
    events.push(waits);
    return new Promise<void>((_resolve, reject) => {
      signal?.addEventListener('abort', () => {
        events.push('its wait woken');
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      }, { once: true });
    });
  };
  return { setTimeout, calls };
}
