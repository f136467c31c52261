// Sustained traffic for the fault suite, through the real SDK: senders that send a
// bounded number of messages with bounded concurrency (the SDK retries each send with
// the same envelope id until its deadline), and receivers that count how many times
// their message stream yields each id. The check every fault test ends with: every
// acknowledged message (receipt delivered or stored) was yielded exactly once, nothing
// was yielded twice, and nothing arrived that nobody sent.
import type { Test } from 'tap';
import { HushwireClient, type ReceivedMessage } from '../../client/index.ts';
import type { Handset } from '../helpers/handsets.ts';
import { HushwireError } from '../../relay/errors.ts';

export interface SendOutcome {
  /** Acknowledged: envelope id (hex) -> text. */
  acked: Map<string, string>;
  /** Sends that gave up (not acknowledged): their names (text without padding) and codes. */
  failed: { text: string; code: string }[];
  /** Texts attempted (acknowledged or not). */
  texts: Set<string>;
}

export interface SendManyOptions {
  gateways: string[];
  count: number;
  /** Sends in flight at once (default 4). */
  concurrency?: number;
  /** Prefix of every text (unique per sender). */
  label: string;
  /** Deadline of each send, retries included (default 30 s). */
  sendTimeoutMs?: number;
  /** Called after each acknowledgement with the number acknowledged so far. */
  onAck?: (acked: number) => void;
  /** Gap between the sends of one lane, ms (default 0): spreads traffic over time. */
  gapMs?: number;
  /** Characters appended to each text (large messages fill buffers faster). */
  padding?: number;
}

/** Sends `count` texts from `from` to `to`; never throws for a failed send. */
export async function sendMany(from: Handset, to: string, o: SendManyOptions): Promise<SendOutcome> {
  const client = await HushwireClient.open(from.profileDir, {
    gateways: o.gateways, receive: false, sendTimeoutMs: o.sendTimeoutMs ?? 30_000, connectAttempts: 20,
  });
  const out: SendOutcome = { acked: new Map(), failed: [], texts: new Set() };
  try {
    await client.connect();
    let next = 0;
    const lane = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= o.count) return;
        const name = `${o.label} #${i}`;
        const text = o.padding ? `${name} ${'.'.repeat(o.padding)}` : name;
        out.texts.add(text);
        try {
          const r = await client.send(to, text);
          out.acked.set(r.id, text);
          o.onAck?.(out.acked.size);
        } catch (e) {
          out.failed.push({ text: name, code: e instanceof HushwireError ? e.code : String(e) });
        }
        if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 4 }, lane));
  } finally {
    await client.close();
  }
  return out;
}

export interface Receiver {
  client: HushwireClient;
  /** Every message the stream yielded, in order. */
  received: ReceivedMessage[];
  /** Times the stream yielded each id. */
  counts: Map<string, number>;
  /** Resolves once every id in `ids` was yielded; rejects after timeoutMs naming how many are missing. */
  waitForIds(ids: Iterable<string>, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function openReceiver(h: Handset, gateways: string[], opts: { connect?: boolean } = {}): Promise<Receiver> {
  const client = await HushwireClient.open(h.profileDir, { gateways, connectAttempts: 20 });
  if (opts.connect !== false) await client.connect();
  const received: ReceivedMessage[] = [];
  const counts = new Map<string, number>();
  // A holder, not a let: TypeScript narrows a let assigned only in callbacks to never.
  const waker: { wake: (() => void) | null } = { wake: null };
  const pump = (async () => {
    for await (const m of client.messages()) {
      received.push(m);
      counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      waker.wake?.();
    }
  })().catch(() => undefined);
  const waitForIds = (ids: Iterable<string>, timeoutMs: number) => new Promise<void>((resolve, reject) => {
    const want = [...ids];
    const missing = () => want.filter((id) => !counts.has(id)).length;
    const timer = setTimeout(() => { waker.wake = null; reject(new Error(`${missing()} of ${want.length} acknowledged messages did not arrive in ${timeoutMs} ms`)); }, timeoutMs);
    const check = () => {
      if (missing() === 0) { clearTimeout(timer); waker.wake = null; resolve(); }
    };
    waker.wake = check;
    check();
  });
  return {
    client, received, counts, waitForIds,
    close: async () => {
      await client.close();
      await pump;
    },
  };
}

/** The exactly-once check over one receiver and the senders that sent to it. */
export function assertExactlyOnce(t: Test, receiver: Receiver, outcomes: SendOutcome[]): void {
  const acked = new Map<string, string>();
  const texts = new Set<string>();
  for (const o of outcomes) {
    for (const [id, text] of o.acked) acked.set(id, text);
    for (const text of o.texts) texts.add(text);
  }
  const missing = [...acked.keys()].filter((id) => !receiver.counts.has(id));
  t.same(missing, [], `every acknowledged message arrived (${acked.size} acknowledged)`);
  const twice = [...receiver.counts].filter(([, n]) => n > 1);
  t.same(twice, [], 'no message was yielded twice');
  const wrongText = [...acked].filter(([id, text]) => receiver.counts.has(id) && receiver.received.find((m) => m.id === id)?.text !== text);
  t.same(wrongText, [], 'each arrived with its own text');
  const unknown = receiver.received.filter((m) => !texts.has(m.text));
  t.same(unknown, [], 'nothing arrived that was not sent');
}
