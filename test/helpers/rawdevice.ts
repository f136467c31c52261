// Registered devices driven over the raw protocol (no SDK): for gateway tests that need
// exact control over what a device sends and when it acks.
import { randomBytes } from 'node:crypto';
import { connectRaw, type RawClient } from './raw.ts';
import { generateIdentity, sign, authInput, registerInput, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers, finalizeNumbers, routeFromOutput } from '../../relay/crypto/oprf.ts';

export interface Device {
  number: string;
  device: Uint8Array;
  id: ReturnType<typeof generateIdentity>;
  prekey: ReturnType<typeof generateKeyPair>;
  route: Uint8Array;
}

export async function register(gw: { url: string }, number: string): Promise<{ c: RawClient; dev: Device }> {
  const c = await connectRaw(gw.url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, verifyStart: { number } }]);
  const vs = await c.reply(1);
  if (vs.body !== 'verifyStarted') throw new Error(`verifyStart failed: ${JSON.stringify(vs.error)}`);
  const id = generateIdentity();
  const prekey = generateKeyPair();
  const device = new Uint8Array(randomBytes(16));
  const b = blindNumbers([number]);
  c.send([{
    req: 2,
    register: {
      number, code: vs.verifyStarted!.devCode, device, identityKey: id.publicKey, prekey: prekey.publicKey,
      prekeySignature: sign(id.secretKey, prekeyInput(prekey.publicKey)),
      signature: sign(id.secretKey, registerInput(ch.nonce, device, id.publicKey, prekey.publicKey)),
      blinded: b.blinded[0],
    },
  }]);
  const r = await c.reply(2);
  if (r.body !== 'registered') throw new Error(`register failed: ${JSON.stringify(r.error)}`);
  const ev = r.registered!.evaluation!;
  const [out] = finalizeNumbers([number], b.blinds, b.blinded, ev.evaluated, ev.proof, ch.oprfPublicKey);
  const route = routeFromOutput(out!);
  return { c, dev: { number, device, id, prekey, route } };
}

export async function authenticate(gw: { url: string }, dev: Device): Promise<RawClient> {
  const c = await connectRaw(gw.url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  const r = await c.reply(7);
  if (r.body !== 'ok') throw new Error(`auth failed: ${JSON.stringify(r.error)}`);
  return c;
}

