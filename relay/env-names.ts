// The HUSHWIRE_* environment variables the product reads, and the start-up warning of
// `hushwire gateway` and `hushwire oprf` about the others: a mistyped variable (a
// letter left out of HUSHWIRE_MAX_CONNECTIONS) is otherwise silently ignored and the
// process runs with the default. One list for both processes: a variable meant for the other one (the
// evaluator's HUSHWIRE_OPRF_THREADS in a gateway's environment, a shared env file), or
// for the CLI, is not unknown, and neither warns about it. The variable's value is never
// printed (it may be a secret); the name is what the operator typed.
//
// test/ops/config-safety.test.ts checks that every HUSHWIRE_ name the source reads is here.
import { SETTINGS } from '../gateway/config.ts';
import { OPRF_SETTINGS } from './oprf-config.ts';
import type { Logger } from './log.ts';

/** Read elsewhere than the two settings tables: the CLI's profile (cli/options.ts), its
 *  stack traces (cli/errors.ts, bin/hushwire.js), and the Chromium `npm test` runs the
 *  portable SDK in (scripts/test.sh). */
export const OTHER_ENV_NAMES: readonly string[] = ['HUSHWIRE_PROFILE', 'HUSHWIRE_DEBUG', 'HUSHWIRE_CHROMIUM'];

/** Every HUSHWIRE_ variable something in the product reads: both processes' settings
 *  (the NATS TLS and credential ones included; `hushwire oprf-key fetch` reads a subset)
 *  and OTHER_ENV_NAMES. */
export const KNOWN_ENV_NAMES: ReadonlySet<string> = new Set([
  ...SETTINGS.map((s) => s.env),
  ...OPRF_SETTINGS.map((s) => s.env),
  ...OTHER_ENV_NAMES,
]);

export const ENV_PREFIX = 'HUSHWIRE_';

/** At most this many unknown names are named at start; the rest are counted. */
export const MAX_UNKNOWN_ENV_LINES = 20;

/** Edit distance (insertions, deletions, substitutions and swaps of two neighbours, the
 *  optimal string alignment distance), giving up past `max` (returns max + 1). */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  // Three rows: the one before the previous is needed for swaps.
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      if (d < best) best = d;
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name closest to `name` (after the prefix, ignoring case), when it is close:
 *  at most 1 edit for short names (4 characters or fewer after HUSHWIRE_), else 2;
 *  ties go to the alphabetically first. Null when none is that close. */
export function closestEnvName(name: string, known: Iterable<string> = KNOWN_ENV_NAMES): string | null {
  const tail = name.slice(ENV_PREFIX.length).toUpperCase();
  const max = tail.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestD = max + 1;
  for (const k of [...known].sort()) {
    const d = editDistance(tail, k.slice(ENV_PREFIX.length), max);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** The HUSHWIRE_ names in `env` that nothing reads, sorted, each with the closest known
 *  name or null. Names only: the values are not looked at. */
export function unknownEnvNames(env: NodeJS.ProcessEnv, known: ReadonlySet<string> = KNOWN_ENV_NAMES): { name: string; suggestion: string | null }[] {
  return Object.keys(env)
    .filter((k) => k.startsWith(ENV_PREFIX) && !known.has(k))
    .sort()
    .map((name) => ({ name, suggestion: closestEnvName(name, known) }));
}

/** The warning line for one: `config: unknown environment variable NAME (did you mean
 *  KNOWN?): ignored`, without the parenthesis when no known name is close. */
export function unknownEnvMessage(name: string, suggestion: string | null): string {
  return `config: unknown environment variable ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}: ignored`;
}

/** Warns (one line each, at most MAX_UNKNOWN_ENV_LINES, then one line counting the rest)
 *  about the HUSHWIRE_ variables in `env` that nothing reads. The process runs on. */
export function warnUnknownEnv(log: Logger, env: NodeJS.ProcessEnv): void {
  const unknown = unknownEnvNames(env);
  for (const { name, suggestion } of unknown.slice(0, MAX_UNKNOWN_ENV_LINES)) {
    log.warn({ variable: name, ...(suggestion ? { suggestion } : {}) }, unknownEnvMessage(name, suggestion));
  }
  if (unknown.length > MAX_UNKNOWN_ENV_LINES) {
    log.warn({ more: unknown.length - MAX_UNKNOWN_ENV_LINES }, `config: ${unknown.length - MAX_UNKNOWN_ENV_LINES} more unknown HUSHWIRE_ environment variables: ignored`);
  }
}
