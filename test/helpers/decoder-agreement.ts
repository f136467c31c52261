// Cross-checking a hand-written protobuf decoder against the generated one
// (test/gateway/frame-in.test.ts, test/bench/hushwire-frames.test.ts): both read the
// same frames, and on mutated bytes both refuse or both read the same.
import type { Test } from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { protobuf } from '../../relay/protobuf.ts';

/** What a decoder made of a frame: its reading (compared as JSON), or a refusal. */
export type Outcome<T> = { ok: true; value: T } | { ok: false };

/** Runs `read`, turning any throw into a refusal. */
export function outcome<T>(read: () => T): Outcome<T> {
  try {
    return { ok: true, value: read() };
  } catch {
    return { ok: false };
  }
}

/** A random corruption of a valid frame: truncated, one byte replaced, a continuation bit
 *  flipped, or a few random bytes spliced in. Returns a Buffer (a copy). */
export function mutate(b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  switch (randomInt(0, 4)) {
    case 0: return out.subarray(0, randomInt(0, out.length));
    case 1: { const i = randomInt(0, out.length); out[i] = randomInt(0, 256); return out; }
    case 2: { const i = randomInt(0, out.length); out[i] = (out[i] as number) ^ 0x80; return out; }
    default: return Buffer.concat([out.subarray(0, randomInt(0, out.length)), randomBytes(randomInt(1, 4)), out.subarray(randomInt(0, out.length))]);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** `rounds` mutated frames from `make`: the generated and the hand-written decoder must
 *  both refuse, or both read the same. Fails on the first disagreement (with the frame in
 *  hex); returns how many both refused. */
export function agreeOnMutations<T>(t: Test, rounds: number, make: () => Uint8Array, generated: (f: Buffer) => Outcome<T>, mine: (f: Buffer) => Outcome<T>): number {
  let refused = 0;
  for (let i = 0; i < rounds; i++) {
    const f = mutate(make());
    const a = generated(f);
    const b = mine(f);
    if (a.ok !== b.ok) {
      t.fail(`${a.ok ? 'generated accepts, hand-written refuses' : 'generated refuses, hand-written accepts'}: ${hex(f)}`);
      return refused;
    }
    if (!a.ok) refused++;
    else if (b.ok && JSON.stringify(a.value) !== JSON.stringify(b.value)) {
      t.same(b.value, a.value, `frame ${hex(f)}`);
      return refused;
    }
  }
  return refused;
}

/** Appends unknown fields of every wire type a decoder must skip: varint, fixed64,
 *  fixed32, bytes and an empty group. */
export function writeUnknownFields(w: protobuf.Writer): void {
  w.uint32((99 << 3) | 0).uint64(12345);
  w.uint32((98 << 3) | 1).fixed64(1);
  w.uint32((97 << 3) | 5).fixed32(2);
  w.uint32((96 << 3) | 2).bytes(randomBytes(3));
  w.uint32((95 << 3) | 3).uint32((95 << 3) | 4);
}

/** A Frame of one to four ops from `op` (their encodings), now and then with an unknown
 *  frame-level field. */
export function randomFrameOf(op: () => Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  const n = randomInt(1, 5);
  for (let i = 0; i < n; i++) w.uint32(10).bytes(op());
  if (randomInt(0, 6) === 0) w.uint32((7 << 3) | 0).uint32(5);
  return Buffer.from(w.finish());
}
