// Structured logging (pino). The rule for every call site: no phone number, route id,
// device id, key, payload or IP in any field. Sessions are named by a process-local
// connection number (`conn`), which means nothing outside this process. The redact list
// is a second line of defence for fields that must never be logged even by mistake.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

const REDACT = [
  'number', '*.number', 'route', '*.route', 'device', '*.device', 'ip', '*.ip',
  'key', '*.key', 'secret', '*.secret', 'body', '*.body', 'text', '*.text',
];

export interface LogOptions {
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    name: opts.name ?? 'hushwire',
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  return opts.destination
    ? pino(options, opts.destination as unknown as pino.DestinationStream)
    : pino(options);
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** How often RepeatedLog writes a line per message, by default. */
export const REPEATED_LOG_EVERY_MS = 10_000;

/**
 * A line for something that can happen many times a second (a failure on every
 * connection while the bus fails, a flood of input from NATS this gateway cannot read):
 * at most one line per `everyMs` per message, the first at once, each with `times`: how
 * many happened since the last line, this one included. What happens in between is
 * counted, not written: one line per occurrence was 50,000 lines for 50,000 devices
 * during a NATS outage. `msg` must be a constant of the call site: it keys the count,
 * so the state is bounded by the number of call sites. Pino's logger and the bus's
 * log function both fit `emit`.
 */
export class RepeatedLog {
  readonly #emit: (msg: string, fields: Record<string, unknown>) => void;
  readonly #everyMs: number;
  readonly #state = new Map<string, { count: number; at: number }>();

  constructor(emit: (msg: string, fields: Record<string, unknown>) => void, everyMs = REPEATED_LOG_EVERY_MS) {
    if (!Number.isFinite(everyMs) || everyMs < 0) throw new RangeError('RepeatedLog: everyMs must be a finite number >= 0');
    this.#emit = emit;
    this.#everyMs = everyMs;
  }

  /** One occurrence of `msg`; `fields` go on the line if this one is written. */
  note(msg: string, fields: Record<string, unknown> = {}, now = Date.now()): void {
    let r = this.#state.get(msg);
    if (r === undefined) {
      r = { count: 0, at: -Infinity };
      this.#state.set(msg, r);
    }
    r.count++;
    if (now - r.at < this.#everyMs) return;
    r.at = now;
    const times = r.count;
    r.count = 0;
    this.#emit(msg, { ...fields, times });
  }
}
