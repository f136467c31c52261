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
import { generateIdentity, sign, authInput, prekeyInput, registerInput } from '../relay/crypto/sign.ts';
import { generateKeyPair } from '../relay/crypto/hpke.ts';
import '../relay/crypto/native.ts'; // native Ed25519/X25519, not noble's JS
import { blindNumbers } from '../relay/crypto/oprf.ts';
import { createBus, DEFAULT_MAILBOX_LIMITS } from '../relay/bus/index.ts';
import { Directory } from '../relay/directory.ts';
import { JetStreamNotReady, NatsUnreachable } from '../relay/bus/setup-errors.ts';
import { routeTag } from '../relay/tokens.ts';
import { wire, type Op, type OpProps } from '../relay/wire.ts';
import { ErrorCode } from '../relay/errors.ts';
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
  return groups.map((n) => makeGroup(n, realKeys));
}

/** Devices made between two yields of makeDevicesYielding (~0.1-0.35 s of key generation). */
const YIELD_EVERY = 1000;

/** makeDevices for large counts (~0.35 ms per device with real keys): it lets the event
 *  loop run every YIELD_EVERY devices, so progress, timers and the watchdog's heartbeat
 *  (bench/watchdog.ts) keep going while 100,000 devices are made. */
export async function makeDevicesYielding(groups: number[], realKeys: boolean): Promise<HwDevice[][]> {
  const out: HwDevice[][] = [];
  let sinceYield = 0;
  for (const n of groups) {
    out.push(makeGroup(n, realKeys));
    sinceYield += n;
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  return out;
}

function makeGroup(n: number, realKeys: boolean): HwDevice[] {
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
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** How long the seeding bus may keep retrying its start (JetStream not ready yet). */
const SEED_START_MS = 60_000;

/** Writes the devices into the directory on NATS (local setup only). */
export async function seedDirectory(natsUrl: string, groups: HwDevice[][], mailboxShards?: number, replicas?: number): Promise<void> {
  const bus = createBus({
    nats: natsUrl,
    ...(mailboxShards !== undefined ? { mailboxShards } : {}),
    ...(replicas !== undefined ? { replicas } : {}),
    limits: { ...DEFAULT_MAILBOX_LIMITS, maxMessagesPerDevice: BENCH_MAILBOX_MAX },
    name: 'hushwire-bench-seed',
  });
  // As the gateways do (gateway/bus-start.ts): a JetStream cluster that has just formed,
  // on a busy machine, can time out a set-up request; retry that (bounded), not fail the
  // workload (the --nats-cluster bench test did once: "JetStream not ready: a JetStream
  // request timed out").
  const deadline = Date.now() + SEED_START_MS;
  for (let delay = 250; ; delay = Math.min(2 * delay, 2000)) {
    try {
      await bus.start();
      break;
    } catch (e) {
      if (!(e instanceof JetStreamNotReady || e instanceof NatsUnreachable) || Date.now() + delay > deadline) {
        await bus.close();
        throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
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

export interface RegisterOptions {
  /** Deadline of each device's registration (default 20,000 ms). */
  timeoutMs?: number;
  /** Aborted: no further registration starts (those in flight finish), and the call
   *  rejects; for an interrupted bench (bench/interrupt.ts). */
  signal?: AbortSignal;
  /** Called for each device the gateway answered `registered` for: only those are in
   *  its directory, so only those need opting out again. */
  onRegistered?: (d: HwDevice) => void;
  /** Called as each device's registration starts and once it ended (registered or
   *  not): between the two the gateway may have registered it without the bench
   *  knowing yet, which an abandoning bench must count as possibly left. */
  onStart?: () => void;
  onSettled?: () => void;
  /** Called for each device whose registration request reached the gateway but got no
   *  answer (the per-device deadline, a connection that closed): the gateway may have
   *  made it all the same, after the bench stopped waiting. optOutUnanswered cleans
   *  those up. */
  onUnanswered?: (d: HwDevice) => void;
}

/** A registration whose request was sent and never answered: made or not, the bench
 *  cannot tell (it never learnt the route). */
export class RegistrationUnanswered extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrationUnanswered';
  }
}

/** Registrations (or opt-outs) in flight per gateway. */
const PER_GATEWAY = 16;

/** Registers the devices through the gateways (dev verifier), group by group, the groups
 *  spread over the gateways in turn (they share one deployment: the bench's handsets on
 *  one gateway reach those on another); fills in each device's route from the answer. */
export async function registerDevices(urls: string | readonly string[], groups: HwDevice[][], o: RegisterOptions = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const list = typeof urls === 'string' ? [urls] : urls;
  // The first refusal stops the others from starting more, and the call settles only
  // once those in flight have: every device registered is reported before it rejects.
  let failure: unknown = null;
  await pool(groups.map((g, i) => ({ g, url: list[i % list.length]! })), PER_GATEWAY * list.length, async ({ g, url }) => {
    for (const d of g) {
      if (failure !== null || o.signal?.aborted) return;
      let route: Uint8Array;
      o.onStart?.();
      try {
        route = await registerOne(url, d, timeoutMs);
      } catch (e) {
        if (e instanceof RegistrationUnanswered) o.onUnanswered?.(d);
        failure ??= e;
        o.onSettled?.();
        return;
      }
      for (const x of g) x.route = route;
      o.onRegistered?.(d);
      o.onSettled?.();
    }
  });
  if (failure !== null) throw failure;
  if (o.signal?.aborted) throw new Error('registration stopped (interrupted)');
}

export interface UnregisterResult {
  /** Opted out (the gateway answered ok). */
  unregistered: number;
  /** Refused authentication: already erased (idle expiry, an earlier clean-up). */
  gone: number;
  failed: number;
  firstError?: string;
  /** Not tried: the overall deadline came first (or the clean-up was stopped). */
  left: number;
}

export interface UnregisterOptions {
  /** Deadline of each device (default 20,000 ms). */
  timeoutMs?: number;
  /** Deadline of the whole clean-up (default 300,000 ms). */
  deadlineMs?: number;
  /** Aborted: no further device is tried (counted as left). */
  signal?: AbortSignal;
  /** The counts are kept here as they change (for progress while it runs). */
  into?: UnregisterResult;
}

/** Opts the bench's devices out again through the running gateways (auth,
 *  `unregister`; spread over them in turn), so that a load test leaves no directory
 *  entries, keys or mail behind. Bounded: each device by `timeoutMs`, the whole
 *  clean-up by `deadlineMs`. */
export async function unregisterDevices(urls: string | readonly string[], devices: HwDevice[], o: UnregisterOptions = {}): Promise<UnregisterResult> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const list = typeof urls === 'string' ? [urls] : urls;
  const r: UnregisterResult = o.into ?? { unregistered: 0, gone: 0, failed: 0, left: 0 };
  const end = Date.now() + (o.deadlineMs ?? 300_000);
  await pool(devices.map((d, i) => ({ d, url: list[i % list.length]! })), PER_GATEWAY * list.length, async ({ d, url }) => {
    if (Date.now() >= end || o.signal?.aborted) {
      r.left++;
      return;
    }
    try {
      if (await unregisterOne(url, d, Math.min(timeoutMs, Math.max(1, end - Date.now())))) r.unregistered++;
      else r.gone++;
    } catch (e) {
      r.failed++;
      r.firstError ??= e instanceof Error ? e.message : String(e);
    }
  });
  return r;
}

export interface UnansweredResult {
  /** Registered again (the route is in the answer) and opted out. */
  optedOut: number;
  /** Could not be: registering again or the opt-out failed, or the deadline or the
   *  clean-up's stop came first. These may be left in the gateway's directory. */
  failed: number;
  firstError?: string;
}

/** Opts out the devices whose registration went unanswered (RegistrationUnanswered).
 *  The gateway may have made them after the bench stopped waiting, under a route only
 *  its answer would have told: each is registered again, with the same device id and
 *  keys (the gateway replaces its entry if the first registration made one, or makes
 *  it), which gives the route, and then opted out like the others. Costs one
 *  verification code of the number each. Bounded like unregisterDevices. */
export async function optOutUnanswered(urls: string | readonly string[], devices: readonly HwDevice[], o: UnregisterOptions = {}): Promise<UnansweredResult> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const list = typeof urls === 'string' ? [urls] : urls;
  const r: UnansweredResult = { optedOut: 0, failed: 0 };
  const end = Date.now() + (o.deadlineMs ?? 300_000);
  const left = (): number => Math.min(timeoutMs, Math.max(1, end - Date.now()));
  await pool(devices.map((d, i) => ({ d, url: list[i % list.length]! })), PER_GATEWAY * list.length, async ({ d, url }) => {
    try {
      if (Date.now() >= end || o.signal?.aborted) throw new Error('not tried: the clean-up\'s deadline came first');
      const route = await registerOne(url, d, left());
      // Its own copy: the group's other devices keep theirs.
      await unregisterOne(url, { ...d, route }, left());
      r.optedOut++;
    } catch (e) {
      r.failed++;
      r.firstError ??= e instanceof Error ? e.message : String(e);
    }
  });
  return r;
}

interface Talk<T> {
  send(ops: OpProps[]): void;
  done(value: T): void;
  fail(e: Error): void;
}

/** One short WebSocket conversation with a gateway: `onOp` sees every op the gateway
 *  sends and ends the conversation with done or fail; the deadline ends it too. */
function converse<T>(url: string, timeoutMs: number, what: string, onOp: (op: Op, talk: Talk<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    let over = false;
    const finish = (): boolean => {
      if (over) return false;
      over = true;
      clearTimeout(timer);
      return true;
    };
    const talk: Talk<T> = {
      send: (ops) => ws.send(wire.Frame.encode({ ops }).finish()),
      done: (v) => { if (finish()) { ws.close(1000); resolve(v); } },
      fail: (e) => { if (finish()) { ws.terminate(); reject(e); } },
    };
    const timer = setTimeout(() => talk.fail(new Error(`${what} timed out`)), timeoutMs);
    ws.on('message', (data: Buffer) => {
      let ops: Op[];
      try {
        ops = wire.Frame.decode(data).ops as Op[];
      } catch {
        talk.fail(new Error(`${what}: undecodable frame`));
        return;
      }
      for (const op of ops) if (!over) onOp(op, talk);
    });
    ws.once('close', (code) => talk.fail(new Error(`${what}: closed ${code}`)));
    ws.once('error', (e) => talk.fail(upgradeRefused(e)));
  });
}

/** ws's "Unexpected server response: 404" in the words of a load tester who gave a
 *  --gateway URL: what answered, and for a 404 the path a gateway serves. */
function upgradeRefused(e: Error): Error {
  const m = /^Unexpected server response: (\d+)$/.exec(e.message);
  if (m === null) return e;
  return new Error(`the gateway answered HTTP ${m[1]} to the WebSocket upgrade${m[1] === '404' ? ' (a gateway serves them at its --path, /ws by default: is the --gateway URL\'s path right?)' : ''}`);
}

async function registerOne(url: string, d: HwDevice, timeoutMs: number): Promise<Uint8Array> {
  // Once the register request is out, only the gateway's answer says what became of it.
  let sent = false;
  let answered = false;
  try {
    return await registerTalk(url, d, timeoutMs, () => { sent = true; }, () => { answered = true; });
  } catch (e) {
    if (sent && !answered) throw new RegistrationUnanswered(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

function registerTalk(url: string, d: HwDevice, timeoutMs: number, onSent: () => void, onAnswer: () => void): Promise<Uint8Array> {
  let nonce: Uint8Array | null = null;
  return converse<Uint8Array>(url, timeoutMs, 'registration', (op, talk) => {
    if (op.challenge) {
      nonce = op.challenge.nonce!;
      talk.send([{ req: 1, verifyStart: { number: d.number } }]);
    } else if (op.error) {
      onAnswer();
      // The two limits a fanout run meets on gateways with their defaults: it registers
      // up to 10 devices (verification codes) under one number. Named, so the load
      // tester knows which gateway flag to raise.
      // The code budget (relay/verify-gate.ts: "from this service" for the cluster's,
      // "from this gateway" for a gateway's own) and the cap on sockets waiting for a
      // code ("on this gateway") say so in their messages.
      const hint = op.error.code === ErrorCode.RATE_LIMITED && /this (gateway|service)/.test(op.error.message ?? '')
        ? ' (the gateways send only so many verification codes, 3/s with a burst of 30 by default, all of them together unless --verify-start-scope gateway, and each keeps only so many sockets waiting for one: raise their --verify-start-rate, --verify-start-burst and --max-pending-verifications to register many devices through the protocol)'
        : op.error.code === ErrorCode.RATE_LIMITED
        ? ' (the gateways send a number only so many verification codes a day, 5 by default: raise their --verify-starts-per-number; fanout registers up to 10 devices under one number)'
        : op.error.code === ErrorCode.TOO_MANY_DEVICES
          ? ' (the gateways allow only so many devices per number, 5 by default: raise their --max-devices-per-route; fanout registers up to 10 devices under one number)'
          : '';
      talk.fail(new Error(`registration refused: ${op.error.code}${hint}`));
    } else if (op.verifyStarted) {
      if (!op.verifyStarted.devCode) return talk.fail(new Error('the gateway does not run the dev verifier: cannot register bench devices'));
      const { blinded } = blindNumbers([d.number]);
      onSent();
      talk.send([{ req: 2, register: {
        number: d.number, code: op.verifyStarted.devCode, device: d.device, identityKey: d.identityPublic,
        prekey: d.prekeyPublic, prekeySignature: sign(d.identitySecret, prekeyInput(d.prekeyPublic)),
        signature: sign(d.identitySecret, registerInput(nonce!, d.device, d.identityPublic, d.prekeyPublic)),
        blinded: blinded[0],
      } }]);
    } else if (op.registered) {
      onAnswer();
      talk.done(new Uint8Array(op.registered.route!));
    }
  });
}

/** true once opted out; false when the gateway refused the authentication (the device
 *  is no longer registered: the gateway does not say more, by design). */
function unregisterOne(url: string, d: HwDevice, timeoutMs: number): Promise<boolean> {
  return converse<boolean>(url, timeoutMs, 'unregistration', (op, talk) => {
    if (op.challenge) {
      talk.send([{ req: 1, auth: { route: d.route, device: d.device, signature: sign(d.identitySecret, authInput(op.challenge.nonce!, d.route, d.device)) } }]);
    } else if (op.req === 1 && op.error) {
      if (op.error.code === ErrorCode.AUTH_FAILED) talk.done(false);
      else talk.fail(new Error(`authentication refused: ${op.error.code}`));
    } else if (op.req === 1 && op.ok) {
      talk.send([{ req: 2, unregister: {} }]);
    } else if (op.req === 2 && op.error) {
      talk.fail(new Error(`unregister refused: ${op.error.code}`));
    } else if (op.req === 2 && op.ok) {
      talk.done(true);
    }
  });
}
