// Resumption tickets (docs/PROTOCOL.md section 13) spoken raw: ask for a ticket on an
// authenticated socket, resume with one on a fresh socket, sign on a socket whose resume
// was refused; a device with a signed socket; a ticket key file. For
// test/gateway/resume*.test.ts.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectRaw, type RawClient } from './raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from './raw-device.ts';
import { tempDir } from './temp.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/x25519.ts';
import { ticketSecret, resumeProof } from '../../relay/crypto/resume.ts';

export interface Held {
  ticket: Uint8Array;
  secret: Uint8Array;
  expiresInS: number;
}

/** Asks for a ticket on an authenticated socket whose challenge carried resume_key. */
export async function requestTicket(c: RawClient, dev: RawDevice, req = 50): Promise<Held> {
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  const e = x25519KeyPair();
  c.send([{ req, ticketRequest: { publicKey: e.publicKey } }]);
  const r = await c.reply(req);
  if (r.body !== 'ticket') throw new Error(`ticket_request failed: ${JSON.stringify(r.error)}`);
  const secret = ticketSecret(x25519SharedSecret(e.secretKey, ch.resumeKey), dev.device, e.publicKey, ch.resumeKey);
  return { ticket: r.ticket!.ticket, secret, expiresInS: r.ticket!.expiresInS };
}

/** A fresh socket, and the answer to an auth with `held`'s ticket (proof over its nonce). */
export async function resumeRaw(url: string, dev: RawDevice, held: Pick<Held, 'ticket' | 'secret'> & Partial<Held>, extra: Record<string, unknown> = {}): Promise<{ c: RawClient; answer: Awaited<ReturnType<RawClient['reply']>>; nonce: Uint8Array }> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, ticket: held.ticket, proof: resumeProof(held.secret, ch.nonce, dev.route, dev.device), ...extra } }]);
  return { c, answer: await c.reply(7), nonce: ch.nonce };
}

/** A signed auth on a socket still in its challenge state (`nonce`: its challenge's). */
export async function signedAuthOn(c: RawClient, dev: RawDevice, nonce: Uint8Array, req: number): Promise<Awaited<ReturnType<RawClient['reply']>>> {
  c.send([{ req, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(nonce, dev.route, dev.device)) } }]);
  return c.reply(req);
}

export async function closeAll(...cs: RawClient[]): Promise<void> {
  for (const c of cs) c.close();
  await Promise.all(cs.map((c) => c.closed));
}

/** A device registered at `url` (its registering socket closed) and a socket of it
 *  authenticated by signature: where a resume test starts. */
export async function signedDevice(url: string, number: string): Promise<{ c: RawClient; dev: RawDevice }> {
  const { c: reg, dev } = await registerRaw(url, number);
  await closeAll(reg);
  return { c: await authenticateRaw(url, dev), dev };
}

/** A fresh ticket key (32 random bytes) in a 0600 file for --resume-key-file, in a temp
 *  directory named `prefix`: a gateway whose key the test knows, so it can play a thief
 *  of that file. */
export function resumeKeyFile(prefix: string): { file: string; key: Uint8Array } {
  const key = new Uint8Array(randomBytes(32));
  const file = join(tempDir(prefix), 'resume.keys');
  writeFileSync(file, `${Buffer.from(key).toString('hex')}\n`, { mode: 0o600 });
  return { file, key };
}
