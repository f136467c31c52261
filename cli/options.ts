// Options shared by several commands, so each is spelled and documented once.
import { Option, InvalidArgumentError } from 'commander';

export function profileOption(): Option {
  return new Option('--profile <dir>', 'profile directory (device keys and state; created 0700)')
    .env('HUSHWIRE_PROFILE')
    .makeOptionMandatory();
}

/** One JSON object per line on stdout: what scripts parse. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function parseCountOrZero(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}
