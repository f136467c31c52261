// Handsets for end-to-end tests: registered profiles in temp dirs, driven through the
// real SDK, with a collector that records every message a handset receives.
import { randomInt } from 'node:crypto';
import { HushwireClient, type ReceivedMessage } from '../../client/index.ts';
import { tempDir } from './temp.ts';

/** A random valid E.164 number in the US 555 range: tests that share a NATS server or a
 *  directory without coordinating their numbers. */
export function freshNumber(): string {
  return `+1555${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
}

export interface Handset {
  number: string;
  profileDir: string;
}

export async function registerHandset(gateways: string[], number: string): Promise<Handset> {
  const profileDir = tempDir('hw-profile-');
  await HushwireClient.register({ profileDir, gateways, number });
  return { number, profileDir };
}

export interface Listener {
  client: HushwireClient;
  received: ReceivedMessage[];
  /** Resolves when at least n messages arrived; rejects after timeoutMs. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Waits quietMs and returns what arrived meanwhile (to prove nothing more comes). */
  quiet(quietMs: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

export async function listen(h: Handset, gateways?: string[]): Promise<Listener> {
  const client = await HushwireClient.open(h.profileDir, gateways ? { gateways } : {});
  await client.connect();
  const received: ReceivedMessage[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  const pump = (async () => {
    for await (const m of client.messages()) {
      received.push(m);
      waker.wake?.();
    }
  })().catch(() => undefined);
  const waitFor = (n: number, timeoutMs = 15_000) => new Promise<ReceivedMessage[]>((resolve, reject) => {
    const deadline = setTimeout(() => { waker.wake = null; reject(new Error(`only ${received.length} of ${n} messages arrived`)); }, timeoutMs);
    const check = () => {
      if (received.length >= n) { clearTimeout(deadline); waker.wake = null; resolve(received.slice()); }
    };
    waker.wake = check;
    check();
  });
  return {
    client, received, waitFor,
    quiet: async (quietMs) => {
      const before = received.length;
      await new Promise((r) => setTimeout(r, quietMs));
      return received.slice(before);
    },
    close: async () => {
      await client.close();
      await pump;
    },
  };
}

export interface Reader {
  client: HushwireClient;
  /** The texts of the messages handed over so far, in order. */
  texts: string[];
}

/** `h` opened receiving on `gateways` (URLs, or gateways with one), connected, closed at
 *  the test's end, collecting message texts; no prekey rotation, own-devices check or
 *  ticket spread to add traffic a resume test does not expect. `extra` goes to open. */
export async function reader(t: { teardown(fn: () => unknown): void }, h: Handset, gateways: readonly (string | { url: string })[], extra: Record<string, unknown> = {}): Promise<Reader> {
  const urls = gateways.map((g) => (typeof g === 'string' ? g : g.url));
  const client = await HushwireClient.open(h.profileDir, { gateways: urls, prekeyRotationMs: 0, ownDevicesCheckMs: 0, resumeSpreadMs: 0, ...extra });
  t.teardown(() => client.close());
  await client.connect();
  const texts: string[] = [];
  void (async () => {
    for await (const m of client.messages()) texts.push(m.text);
  })().catch(() => undefined);
  return { client, texts };
}

export async function sendText(from: Handset, to: string, text: string, gateways?: string[]) {
  const client = await HushwireClient.open(from.profileDir, { receive: false, ...(gateways ? { gateways } : {}) });
  try {
    await client.connect();
    return await client.send(to, text);
  } finally {
    await client.close();
  }
}
