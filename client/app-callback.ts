// The application's callbacks (ClientOptions.onState, onNotice, onDropped, onStoreError,
// onKeyChange), called from inside the client: a socket's frame handler, the state
// machine, a store write's failure path. What a callback throws must not break the
// client there, and neither may an async callback's rejected promise: nobody awaits
// it, so it would be an unhandled rejection, which ends a Node process by default
// (--unhandled-rejections=throw since Node 15) and logs an error in a browser. Both
// go to ClientOptions.onCallbackError when given (so an app's bug is seen), else
// nowhere: the client goes on as if the callback had returned.

/** The options a failure of which onCallbackError names. */
export type CallbackName = 'onState' | 'onNotice' | 'onDropped' | 'onStoreError' | 'onKeyChange';

/** ClientOptions.onCallbackError: told what an application callback threw or rejected with. */
export type CallbackErrorHandler = (err: unknown, callback: CallbackName) => void;

/** Calls `fn(arg)`, never throws, and catches what a returned promise rejects with.
 *  Exported for tests; the client builds its wrappers with `guardCallback`. */
export function callApp<A>(fn: (arg: A) => unknown, arg: A, report: (err: unknown) => void): void {
  let result: unknown;
  try {
    result = fn(arg);
  } catch (e) {
    report(e);
    return;
  }
  // Any thenable, not only a native Promise: an app may return one of another library.
  if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
    try {
      const then = (result as { then?: unknown }).then;
      if (typeof then === 'function') then.call(result, undefined, report);
    } catch (e) {
      report(e); // a `then` getter or method that throws
    }
  }
}

/** `fn` made safe to call from inside the client (undefined stays undefined, so `?.()`
 *  callers keep their meaning); failures go to `onError` with the option's name. */
export function guardCallback<A>(
  name: CallbackName, fn: ((arg: A) => unknown) | undefined, onError: CallbackErrorHandler | undefined,
): ((arg: A) => void) | undefined {
  if (fn === undefined) return undefined;
  const report = (err: unknown): void => {
    if (onError === undefined) return;
    // The error handler is an app callback too: its own failure is dropped, not
    // reported again (that could loop).
    callApp((e: unknown) => onError(e, name), err, () => {});
  };
  return (arg: A) => callApp(fn, arg, report);
}

/**
 * ClientOptions.onStoreError told once per failed write. The profile's saves coalesce
 * (ProfileState, RouteBook, KeyBook: every save asked for while one waits shares its
 * write, and its promise), so one failed write can reach several callers: a received
 * message being recorded and a send's sequence number in the same moment, or two
 * sends. `report(write, err)` tells `tell` of `write`'s failure the first time only;
 * `watch(write)` reports the failure of a write nobody awaits (the best-effort saves).
 * `tell` is the guarded callback (guardCallback), or undefined.
 */
export class StoreErrorReporter {
  readonly #told = new WeakSet<Promise<unknown>>();
  readonly #tell: ((err: unknown) => void) | undefined;

  constructor(tell: ((err: unknown) => void) | undefined) {
    this.#tell = tell;
  }

  report(write: Promise<unknown>, err: unknown): void {
    if (this.#told.has(write)) return;
    this.#told.add(write);
    this.#tell?.(err);
  }

  watch(write: Promise<unknown>): void {
    write.catch((err: unknown) => this.report(write, err));
  }
}
