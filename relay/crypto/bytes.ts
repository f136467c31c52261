// Input checks shared by the crypto modules. Every exported crypto function checks its
// arguments with these before touching a primitive, so a string, a plain array or a
// wrong-length key becomes a HushwireError with a stable code instead of a library
// TypeError (whose text we do not control). Messages name the argument, never its value.
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../errors.ts';

export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} must be ${length} bytes`);
  }
}

/** A non-negative integer that survives a uint64 protobuf field and JS arithmetic exactly. */
export function assertSafeUint(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} must be a non-negative safe integer`);
  }
}

export function assertArray(value: unknown, name: string): asserts value is unknown[] {
  if (!Array.isArray(value)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} must be an array`);
  }
}

/** A domain-separation prefix: the label's UTF-8 bytes followed by one 0x00 byte. */
export function label0(s: string): Uint8Array {
  return concatBytes(utf8ToBytes(s), Uint8Array.of(0));
}

