// The verification codes an SMS bridge on loopback took (each an SMS sent), for the
// bridges of ./sms-bridge.ts and ./refusing-bridge.ts: the list, and a wait for the n-th.

export interface BridgeCodes {
  /** Codes taken, in order. */
  readonly codes: readonly string[];
  /** Takes `code` (the bridge answered its POST 2xx): the waits for it resolve. */
  take(code: string): void;
  /** The n-th code taken (0-based), once it is; rejects after `timeoutMs`. */
  code(n: number, timeoutMs?: number): Promise<string>;
}

export function bridgeCodes(): BridgeCodes {
  const codes: string[] = [];
  let waiters: Array<() => void> = [];
  return {
    codes,
    take(code: string) {
      codes.push(code);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    code(n: number, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no verification code #${n} within ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          if (codes.length > n) {
            clearTimeout(timer);
            resolve(codes[n]!);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}
