// E.164 phone numbers: the only form a number takes inside Hushwire. The OPRF input is
// the UTF-8 of this normalized string, so the handset and the verifier must agree on it
// byte for byte: '+', then 8 to 15 digits, the first 1-9. Only the separators a person
// types ('+1 (555) 010-0000') are removed; anything else is an error, never a guess.
// The error never echoes the input: it is a phone number.
import { HushwireError, ErrorCode } from './errors.ts';

const SEPARATORS = /[ ()-]/g;
const E164 = /^\+[1-9][0-9]{7,14}$/;
// Longer than any number plus generous separators: refuse before running a regex on it.
const MAX_INPUT_CHARS = 64;

export function parseE164(s: unknown): string {
  if (typeof s !== 'string' || s.length > MAX_INPUT_CHARS) throw badNumber();
  const n = s.replace(SEPARATORS, '');
  if (!E164.test(n)) throw badNumber();
  return n;
}

function badNumber(): HushwireError {
  return new HushwireError(ErrorCode.BAD_NUMBER, 'not an E.164 phone number');
}
