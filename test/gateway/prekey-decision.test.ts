// relay/prekey.ts's pure parts: the field check and the decision for one device record,
// over random inputs and wrong types (no I/O; set-prekey.test.ts covers the op end to end).
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { checkPrekeyFields, prekeyDecision } from '../../relay/prekey.ts';
import { generateIdentity, sign, prekeyInput } from '../../relay/crypto/sign.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof HushwireError ? e.code : `not a HushwireError: ${String(e)}`;
  }
}

t.test('checkPrekeyFields: 32 + 64 bytes only; anything else BAD_REQUEST', async (t) => {
  t.equal(codeOf(() => checkPrekeyFields(new Uint8Array(32), new Uint8Array(64))), null);
  const wrong: unknown[] = [undefined, null, 0, '', 'x'.repeat(32), [], {}, new Uint8Array(0), new Uint16Array(16), new ArrayBuffer(32)];
  for (let n = 0; n <= 100; n++) if (n !== 32 && n !== 64) wrong.push(new Uint8Array(n));
  for (const w of wrong) {
    t.equal(codeOf(() => checkPrekeyFields(w, new Uint8Array(64))), ErrorCode.BAD_REQUEST);
    t.equal(codeOf(() => checkPrekeyFields(new Uint8Array(32), w)), ErrorCode.BAD_REQUEST);
  }
});

t.test('prekeyDecision over random records and clocks', async (t) => {
  const id = generateIdentity();
  const other = generateIdentity();
  const interval = 900_000;
  for (let i = 0; i < 200; i++) {
    const current = new Uint8Array(randomBytes(32));
    const next = new Uint8Array(randomBytes(32));
    const last = randomInt(0, 3) === 0 ? 0 : randomInt(1, 2 ** 40);
    const now = last + randomInt(-interval, 3 * interval);
    const dev = { identityKey: id.publicKey, prekey: current, prekeyRotatedAtMs: last };
    // A signature the directory's identity key does not verify: AUTH_FAILED, whatever else.
    t.equal(codeOf(() => prekeyDecision(dev, next, sign(other.secretKey, prekeyInput(next)), now, interval)), ErrorCode.AUTH_FAILED);
    t.equal(codeOf(() => prekeyDecision(dev, next, sign(id.secretKey, prekeyInput(current)), now, interval)), ErrorCode.AUTH_FAILED);
    // The current prekey again: unchanged, at any time.
    t.equal(prekeyDecision(dev, current, sign(id.secretKey, prekeyInput(current)), now, interval), 'unchanged');
    // A new one: rotated once the interval has passed (or never rotated), else RATE_LIMITED
    // with retry_after_ms = what is left of the interval (the whole of it when the clock went back).
    let got: string;
    let retry = -1;
    try {
      got = prekeyDecision(dev, next, sign(id.secretKey, prekeyInput(next)), now, interval);
    } catch (e) {
      got = (e as HushwireError).code;
      retry = (e as HushwireError).retryAfterMs ?? -1;
    }
    if (last === 0 || now - last >= interval) t.equal(got, 'rotated');
    else {
      t.equal(got, ErrorCode.RATE_LIMITED);
      t.equal(retry, last + interval - Math.max(now, last));
      t.ok(retry > 0 && retry <= interval);
    }
  }
});
