// A device driven with the raw protocol client (no SDK), for tests that must send
// hand-made bytes before or after authenticating: register with the dev verifier,
// authenticate on a fresh socket, and check that a gateway still serves after abuse.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import type WebSocket from 'ws';
import { connectRaw, type RawClient } from './raw.ts';
import type { DecodedOp as Op } from '../../relay/wire.ts';
import { generateIdentity, sign, authInput, registerInput, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers, finalizeNumbers, routeFromOutput } from '../../relay/crypto/oprf.ts';

export interface RawDevice {
  number: string;
  device: Uint8Array;
  id: ReturnType<typeof generateIdentity>;
  prekey: ReturnType<typeof generateKeyPair>;
  route: Uint8Array;
}

/** A `register` op's body for a fresh device of `number` (keys, signatures over the
 *  socket's challenge `nonce`, the blinded number), with the keys and the blinding. */
export function registerBody(nonce: Uint8Array, number: string, code: string) {
  const id = generateIdentity();
  const prekey = generateKeyPair();
  const device = new Uint8Array(randomBytes(16));
  const b = blindNumbers([number]);
  const register = {
    number, code, device, identityKey: id.publicKey, prekey: prekey.publicKey,
    prekeySignature: sign(id.secretKey, prekeyInput(prekey.publicKey)),
    signature: sign(id.secretKey, registerInput(nonce, device, id.publicKey, prekey.publicKey)),
    blinded: b.blinded[0]!,
  };
  return { register, id, prekey, device, blind: b };
}

/** A fresh socket's challenge and the dev verifier's code for `number` (verify_start, req 1). */
export async function startVerification(url: string, number: string, opts: WebSocket.ClientOptions = {}): Promise<{ c: RawClient; ch: NonNullable<Op['challenge']>; code: string }> {
  const c = await connectRaw(url, opts);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, verifyStart: { number } }]);
  const vs = await c.reply(1);
  if (vs.body !== 'verifyStarted') {
    c.close();
    throw new Error(`verifyStart failed: ${JSON.stringify(vs.error)}`);
  }
  return { c, ch, code: vs.verifyStarted!.devCode };
}

/** A fresh socket (closed at `t`'s teardown) with the dev verifier's code for `number`
 *  (checked to be six digits), and a register op on it: sends a device's register with
 *  that code (or another, e.g. a wrong one) and answers the error's code, or the answer's
 *  body. For tests that send the same register again on one socket (a retry after a
 *  failure keeps the code) or other devices with its code: one way to get the code and
 *  to sign and send the register (register-directory, register-timeout). */
export async function withCode(t: Test, url: string, number: string) {
  const c = await connectRaw(url);
  t.teardown(() => c.close());
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, verifyStart: { number } }]);
  const code = (await c.reply(1)).verifyStarted!.devCode!;
  t.match(code, /^\d{6}$/);
  let req = 10;
  const register = async (d: Pick<RawDevice, 'id' | 'prekey' | 'device'>, withCode = code): Promise<string> => {
    const r = ++req;
    c.send([{ req: r, register: {
      number, code: withCode, device: d.device, identityKey: d.id.publicKey, prekey: d.prekey.publicKey,
      prekeySignature: sign(d.id.secretKey, prekeyInput(d.prekey.publicKey)),
      signature: sign(d.id.secretKey, registerInput(ch.nonce, d.device, d.id.publicKey, d.prekey.publicKey)),
      blinded: blindNumbers([number]).blinded[0],
    } }]);
    const op = await c.reply(r);
    return op.error?.code ?? op.body!;
  };
  return { c, code, register };
}

/** Registers a fresh device for `number`; returns the (authenticated) socket and keys.
 *  `opts`: the socket's (e.g. a localAddress). */
export async function registerRaw(url: string, number: string, opts: WebSocket.ClientOptions = {}): Promise<{ c: RawClient; dev: RawDevice }> {
  const { c, ch, code } = await startVerification(url, number, opts);
  const { register, id, prekey, device, blind: b } = registerBody(ch.nonce, number, code);
  c.send([{ req: 2, register }]);
  const r = await c.reply(2);
  if (r.body !== 'registered') {
    c.close();
    throw Object.assign(new Error(`register failed: ${r.error?.code}: ${r.error?.message}`), { code: r.error?.code, wireMessage: r.error?.message });
  }
  const ev = r.registered!.evaluation!;
  const [out] = finalizeNumbers([number], b.blinds, b.blinded, ev.evaluated, ev.proof, ch.oprfPublicKey);
  return { c, dev: { number, device, id, prekey, route: routeFromOutput(out!) } };
}

/** A fresh socket authenticated as `dev`. */
export async function authenticateRaw(url: string, dev: RawDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  const r = await c.reply(7);
  if (r.body !== 'ok') throw new Error(`auth failed: ${JSON.stringify(r.error)}`);
  return c;
}

/** A `send` of one envelope (random bytes of a sealed envelope's sizes) from `from` to
 *  `to`, as `req`; its receipt as `status[ code]`, or `error CODE` when the op itself was
 *  refused. */
export async function sendOneEnvelope(from: RawClient, to: RawDevice, req: number): Promise<string> {
  const env = { version: 1, suite: 1, route: to.route, device: to.device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(randomBytes(32)), ciphertext: new Uint8Array(randomBytes(240)) };
  from.send([{ req, send: { envelopes: [env] } }]);
  const r = await from.reply(req, 60_000);
  const receipt = r.sendResult?.receipts[0];
  return receipt === undefined ? `error ${r.error?.code}` : `${receipt.status}${receipt.code ? ` ${receipt.code}` : ''}`;
}

/** The gateway still serves a well-behaved client: a fresh socket authenticates and
 *  looks itself up. */
export async function stillServes(t: Test, url: string, dev: RawDevice): Promise<void> {
  const c = await authenticateRaw(url, dev);
  c.send([{ req: 9, lookup: { route: dev.route } }]);
  const r = await c.reply(9);
  t.equal(r.body, 'devices', 'gateway still serves a well-behaved client');
  c.close();
  await c.closed;
}

/** Encodes a protobuf varint (for hand-made frames). */
export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
