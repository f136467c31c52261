// Padding of the HPKE plaintext to a few fixed sizes, so the relay (which sees only
// ciphertext lengths) learns a size class and not the message length. ISO/IEC 7816-4
// padding (0x80 then zeros) is unambiguous for any content, including content that
// itself ends in zeros, and costs one byte when the content nearly fills a bucket.
import { HushwireError, ErrorCode } from '../errors.ts';
import { assertBytes } from './bytes.ts';

/** Sizes of the padded plaintext; the HPKE ciphertext is one of these + 16 (AEAD tag). */
export const PAD_BUCKETS: readonly number[] = Object.freeze([256, 1024, 4096, 16384, 65536]);
/** Largest content that fits: the largest bucket less the one 0x80 marker byte. */
export const MAX_PADDED_CONTENT = PAD_BUCKETS[PAD_BUCKETS.length - 1] - 1;

/** The bucket a content of `length` bytes pads to, or -1 if it does not fit. */
export function bucketFor(length: number): number {
  for (const b of PAD_BUCKETS) if (length < b) return b;
  return -1;
}

export function pad(pt: Uint8Array): Uint8Array {
  assertBytes(pt, 'plaintext');
  const size = bucketFor(pt.length);
  if (size < 0) throw new HushwireError(ErrorCode.TOO_LARGE, `content exceeds ${MAX_PADDED_CONTENT} bytes`);
  const out = new Uint8Array(size); // zero-filled: only the marker needs writing
  out.set(pt, 0);
  out[pt.length] = 0x80;
  return out;
}

export function unpad(padded: Uint8Array): Uint8Array {
  assertBytes(padded, 'padded plaintext');
  // A length that is not a bucket did not come from pad(): refuse rather than accept
  // a size class the relay could use to tell senders apart.
  if (!PAD_BUCKETS.includes(padded.length)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'padded length is not a bucket size');
  }
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  if (i < 0 || padded[i] !== 0x80) throw new HushwireError(ErrorCode.BAD_REQUEST, 'bad padding');
  return padded.slice(0, i);
}
