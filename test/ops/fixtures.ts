// Devices for the operations tests, driven with the raw protocol (no SDK): registered
// through the dev verifier (real opt-in), or seeded straight into the directory when a
// test needs a thousand of them; authenticated sockets; envelopes with random sealed
// bytes (the gateway never opens them, so they need not decrypt).
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { generateIdentity, sign, authInput, registerInput, prekeyInput, type Identity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers, finalizeNumbers, routeFromOutput } from '../../relay/crypto/oprf.ts';
import { routeTag } from '../../relay/tokens.ts';
import { PROTOCOL_VERSION, SUITE_HPKE_X25519_CHACHA, decodeFrame, type EnvelopeProps, type DecodedOp } from '../../relay/wire.ts';
import type { Directory } from '../../relay/directory.ts';

export interface OpsDevice {
  route: Uint8Array;
  device: Uint8Array;
  id: Identity;
}

/** Opt-in through the dev verifier; returns the authenticated registering socket. */
export function registerDevice(url: string, number: string): Promise<{ c: RawClient; dev: OpsDevice }> {
  return registerRaw(url, number);
}

/** A device written straight into the directory (a test shortcut for many devices:
 *  the route is random instead of OPRF-derived, which the gateway cannot tell). */
export async function seedDevice(directory: Directory): Promise<OpsDevice> {
  const id = generateIdentity();
  const route = new Uint8Array(randomBytes(32));
  const device = new Uint8Array(randomBytes(16));
  const prekey = generateKeyPair().publicKey;
  const now = Date.now();
  await directory.upsertDevice(routeTag(route), {
    device, identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)),
    registeredAtMs: now, lastSeenMs: now,
  });
  return { route, device, id };
}

/** The auth op for a challenge nonce. */
export function authOp(dev: OpsDevice, nonce: Uint8Array) {
  return { auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(nonce, dev.route, dev.device)) } };
}

/** A fresh socket authenticated as dev. */
export async function authenticate(url: string, dev: OpsDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, ...authOp(dev, ch.nonce) }]);
  const r = await c.reply(7);
  if (r.body !== 'ok') throw new Error(`auth failed: ${r.error?.code} (${r.error?.message ?? ''})`);
  return c;
}

/** An envelope for `to` with `size` bytes of (opaque) ciphertext. */
export function envelopeFor(to: OpsDevice, size = 256): EnvelopeProps {
  return {
    version: PROTOCOL_VERSION, suite: SUITE_HPKE_X25519_CHACHA, route: to.route, device: to.device,
    id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(randomBytes(32)), ciphertext: new Uint8Array(randomBytes(size)),
  };
}

/** Acknowledges every delivered envelope (as a handset does after storing it) and
 *  records the ids (hex) it was given, duplicates included. */
export function autoAck(c: RawClient, received: string[] = []): string[] {
  const ack = (ops: DecodedOp[]): void => {
    const ids: Uint8Array[] = [];
    for (const op of ops) for (const e of op.deliver?.envelopes ?? []) ids.push(e.id);
    if (ids.length === 0) return;
    for (const id of ids) received.push(Buffer.from(id).toString('hex'));
    if (c.ws.readyState === c.ws.OPEN) c.send([{ req: 0, deliverAck: { ids } }]);
  };
  ack(c.ops); // deliveries that came in the same frame as the auth reply
  c.ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) ack(decodeFrame(new Uint8Array(data)));
  });
  return received;
}

let nextReq = 1000;
/** Sends envelopes and returns the receipts. */
export async function send(c: RawClient, envelopes: EnvelopeProps[], timeoutMs = 15_000) {
  const req = nextReq++;
  c.send([{ req, send: { envelopes } }]);
  const r = await c.reply(req, timeoutMs);
  if (r.body !== 'sendResult') throw new Error(`send failed: ${r.error?.code}`);
  return r.sendResult!.receipts.map((x) => ({ status: x.status, code: x.code, retryAfterMs: Number(x.retryAfterMs) }));
}

/** GET on the gateway's HTTP port. */
export function httpGet(wsUrl: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(wsUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls pred every 20 ms until true; throws after timeoutMs. */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One sample value from Prometheus text, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[lm[1]!] = lm[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}
