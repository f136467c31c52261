// Makes the Hushwire devices the generator plays and gets them into the directory.
//
// Against a local setup the bench writes the directory entries straight through the
// gateways' own Bus and Directory code (relay/bus, relay/directory.ts) with random
// routes: registration (number verification plus a VOPRF evaluation with proof per
// device) is not what is measured, and doing it for 10,000 storm devices would take
// minutes. Authentication, which is measured, needs only the directory entry.
// Against running gateways (--gateway) devices register through the protocol, which
// needs the dev verifier there.
import WebSocket from 'ws';
import { randomBytes } from 'node:crypto';
import { generateIdentity, sign, prekeyInput, registerInput } from '../relay/crypto/sign.ts';
import { generateKeyPair } from '../relay/crypto/hpke.ts';
import { blindNumbers } from '../relay/crypto/oprf.ts';
import { createBus, DEFAULT_MAILBOX_LIMITS } from '../relay/bus/index.ts';
import { Directory } from '../relay/directory.ts';
import { routeTag } from '../relay/tokens.ts';
import { wire } from '../relay/wire.ts';
import type { HwDevice } from './types.ts';

/** What the bench's local gateways are started with (the bus must agree with them). */
export const BENCH_MAILBOX_MAX = 100_000;
export const BENCH_MAX_DEVICES_PER_ROUTE = 16;

let numberBase = 1_000_000 + Math.floor(Math.random() * 8_000_000);
/** A fresh valid E.164 number in the US 555 range. */
export function freshNumber(): string {
  numberBase = numberBase >= 9_999_999 ? 1_000_000 : numberBase + 1;
  return `+1555${numberBase}`;
}

/** `groups[i]` devices share one route (one number); realKeys=false skips the X25519
 *  prekey (storm and idle send nothing, so nothing is sealed to it). */
export function makeDevices(groups: number[], realKeys: boolean): HwDevice[][] {
  return groups.map((n) => {
    const route = new Uint8Array(randomBytes(32));
    const number = freshNumber();
    return Array.from({ length: n }, () => {
      const id = generateIdentity();
      return {
        route,
        device: new Uint8Array(randomBytes(16)),
        identitySecret: id.secretKey,
        identityPublic: id.publicKey,
        prekeyPublic: realKeys ? generateKeyPair().publicKey : new Uint8Array(randomBytes(32)),
        number,
      };
    });
  });
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Writes the devices into the directory on NATS (local setup only). */
export async function seedDirectory(natsUrl: string, groups: HwDevice[][], mailboxShards?: number): Promise<void> {
  const bus = createBus({
    nats: natsUrl,
    ...(mailboxShards !== undefined ? { mailboxShards } : {}),
    limits: { ...DEFAULT_MAILBOX_LIMITS, maxMessagesPerDevice: BENCH_MAILBOX_MAX },
    name: 'hushwire-bench-seed',
  });
  await bus.start();
  try {
    const dir = new Directory(bus, BENCH_MAX_DEVICES_PER_ROUTE);
    const now = Date.now();
    await pool(groups, 64, async (g) => {
      for (const d of g) {
        await dir.upsertDevice(routeTag(d.route), {
          device: d.device, identityKey: d.identityPublic, prekey: d.prekeyPublic,
          prekeySignature: sign(d.identitySecret, prekeyInput(d.prekeyPublic)), registeredAtMs: now, lastSeenMs: now,
        });
      }
    });
  } finally {
    await bus.close();
  }
}

/** Registers the devices through a gateway (dev verifier), group by group; fills in
 *  each device's route from the gateway's answer. */
export async function registerDevices(url: string, groups: HwDevice[][], timeoutMs = 20_000): Promise<void> {
  await pool(groups, 16, async (g) => {
    for (const d of g) {
      const route = await registerOne(url, d, timeoutMs);
      for (const x of g) x.route = route;
    }
  });
}

function registerOne(url: string, d: HwDevice, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('registration timed out')); }, timeoutMs);
    const fail = (e: Error): void => { clearTimeout(timer); ws.terminate(); reject(e); };
    let nonce: Uint8Array | null = null;
    ws.on('message', (data: Buffer) => {
      for (const op of wire.Frame.decode(data).ops) {
        if (op.challenge) {
          nonce = op.challenge.nonce!;
          ws.send(wire.Frame.encode({ ops: [{ req: 1, verifyStart: { number: d.number } }] }).finish());
        } else if (op.error) {
          fail(new Error(`registration refused: ${op.error.code}`));
        } else if (op.verifyStarted) {
          if (!op.verifyStarted.devCode) return fail(new Error('the gateway does not run the dev verifier: cannot register bench devices'));
          const { blinded } = blindNumbers([d.number]);
          ws.send(wire.Frame.encode({ ops: [{ req: 2, register: {
            number: d.number, code: op.verifyStarted.devCode, device: d.device, identityKey: d.identityPublic,
            prekey: d.prekeyPublic, prekeySignature: sign(d.identitySecret, prekeyInput(d.prekeyPublic)),
            signature: sign(d.identitySecret, registerInput(nonce!, d.device, d.identityPublic, d.prekeyPublic)),
            blinded: blinded[0],
          } }] }).finish());
        } else if (op.registered) {
          clearTimeout(timer);
          const route = op.registered.route!;
          ws.close(1000);
          resolve(new Uint8Array(route));
        }
      }
    });
    ws.once('error', (e) => fail(e));
  });
}
