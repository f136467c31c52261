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
