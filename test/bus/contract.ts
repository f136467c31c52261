// The Bus contract: every implementation (MemoryBus, NatsBus) must pass this suite.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import type { Bus, ControlMessage, MailboxLimits } from '../../relay/bus/bus.ts';
import { isHushwireError } from '../../relay/errors.ts';
import { Recipient } from '../../relay/tokens.ts';
import { within } from '../helpers/poll.ts';

export interface BusUnderTest {
  bus: Bus;
  cleanup(): Promise<void>;
}

/** Makes a started bus. `limits` overrides the suite's default small limits. */
export type MakeBus = (limits?: MailboxLimits) => Promise<BusUnderTest>;

/** Small limits so that the tests reach them quickly. */
export const CONTRACT_LIMITS: MailboxLimits = Object.freeze({
  maxMessagesPerDevice: 5,
  maxAgeMs: 10 * 60_000,
  maxMessageBytes: 1024,
});

export const tok = (): string => randomBytes(16).toString('hex');
export const bytes = (n: number, fill?: number): Uint8Array =>
  fill === undefined ? new Uint8Array(randomBytes(n)) : new Uint8Array(n).fill(fill);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` holds, polling; rejects after the deadline. */
export async function waitFor(cond: () => boolean | Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function codeOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'resolved';
  } catch (e) {
    return isHushwireError(e) ? e.code : `non-hushwire error: ${String(e)}`;
  }
}

const BAD_TOKENS = [
  'a'.repeat(31) + '.',         // dot
  'a'.repeat(31) + '*',         // wildcard
  'a'.repeat(31) + '>',         // full wildcard
  'a'.repeat(31) + ' ',         // space
  'A'.repeat(32),               // uppercase
  'a'.repeat(31),               // too short
  'a'.repeat(33),               // too long
  '',                           // empty
  'g'.repeat(32),               // not hex
  'hw.mbox.>',
];

export function busContract(t: Test, makeBus: MakeBus): void {
  const use = async (tt: Test, limits?: MailboxLimits): Promise<Bus> => {
    const b = await makeBus(limits);
    tt.teardown(() => b.cleanup());
    return b.bus;
  };

  t.test('live delivery: acknowledged', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const got: Uint8Array[] = [];
    await bus.subscribeDevice(r, d, async (env) => { got.push(env.slice()); return true; }, () => {});
    const env = bytes(200);
    t.equal(await bus.deliverLive(r, d, env, 2000), true);
    t.equal(got.length, 1);
    t.same(Buffer.from(got[0] as Uint8Array), Buffer.from(env), 'same bytes arrive');
  });

  t.test('live delivery: the bus copies the envelope', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    let held: Uint8Array | null = null;
    let release: (v: boolean) => void = () => {};
    await bus.subscribeDevice(r, d, (env) => { held = env; return new Promise<boolean>((res) => { release = res; }); }, () => {});
    const env = bytes(64, 7);
    const p = bus.deliverLive(r, d, env, 2000);
    await waitFor(() => held !== null, 2000, 'handler call');
    env.fill(9); // the sender reuses its buffer
    release(true);
    t.equal(await p, true);
    t.ok((held as unknown as Uint8Array).every((b) => b === 7), 'receiver sees the bytes as they were at send time');
  });

  t.test('live delivery: refused', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    await bus.subscribeDevice(r, d, async () => false, () => {});
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), false);
  });

  t.test('live delivery: a throwing or rejecting handler counts as refused', async (t) => {
    const bus = await use(t);
    const [r, d, d2] = [tok(), tok(), tok()];
    await bus.subscribeDevice(r, d, () => { throw new Error('boom'); }, () => {});
    await bus.subscribeDevice(r, d2, () => Promise.reject(new Error('boom')), () => {});
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), false);
    t.equal(await bus.deliverLive(r, d2, bytes(10), 2000), false);
  });

  t.test('live delivery: nobody subscribed => false at once', async (t) => {
    const bus = await use(t);
    // "At once", not at the deadline: that is 60 s (the most a bus takes), past the test's
    // 30 s wait, whose timer, set in the same turn, fires first (timers fire by expiry).
    // The wait bounds a hang; it is not a timing.
    t.equal(await within(bus.deliverLive(tok(), tok(), bytes(10), 60_000), 30_000, 'an offer nobody is subscribed for'), false);
  });

  t.test('live delivery: timeout => false after timeoutMs', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    // The handler holds the offer until the test lets it go, after the offer's answer: an
    // offer that waited for the handler instead of its deadline would never answer.
    let reached = false;
    let release!: (ok: boolean) => void;
    await bus.subscribeDevice(r, d, () => new Promise<boolean>((res) => { reached = true; release = res; }), () => {});
    // Not before its deadline: the time the offer took is at least its timeout (a lower
    // bound, which load only makes longer). Not the order against a test timer of less:
    // NatsBus checks its deadlines on a 10 ms repeating timer, which after the loop was
    // held up (a busy machine) is due together with such a timer and, its expiry being
    // earlier, runs first: it answers, rightly, once its deadline has passed (Date.now()),
    // before the test's timer had its turn. 1 ms: whole milliseconds of another clock.
    const timeoutMs = 200;
    const start = performance.now();
    let tookMs = -1;
    const offer = bus.deliverLive(r, d, bytes(10), timeoutMs).then((ok) => { tookMs = performance.now() - start; return ok; });
    t.equal(await within(offer, 20_000, 'an offer the handler holds'), false, 'not delivered');
    t.ok(tookMs >= timeoutMs - 1, `not before its deadline (answered after ${Math.round(tookMs)} ms)`);
    await waitFor(() => reached, 10_000, 'the handler to have the offer');
    release(true);
  });

  t.test('live delivery: offers without an outcome are counted (livePending) until they settle', async (t) => {
    const bus = await use(t);
    const [r, hangs, acks] = [tok(), tok(), tok()];
    const release: ((ok: boolean) => void)[] = [];
    await bus.subscribeDevice(r, hangs, () => new Promise<boolean>((res) => { release.push(res); }), () => {});
    await bus.subscribeDevice(r, acks, async () => true, () => {});
    t.equal(bus.livePending(), 0, 'nothing in flight');
    const timedOut = bus.deliverLive(r, hangs, bytes(10), 300);
    const acked = bus.deliverLive(r, hangs, bytes(10), 5000);
    t.equal(bus.livePending(), 2, 'two offers in flight');
    t.equal(await bus.deliverLive(r, acks, bytes(10), 2000), true);
    t.equal(await timedOut, false);
    t.equal(bus.livePending(), 1, 'the timed-out one no longer counts');
    await waitFor(() => release.length === 2, 2000, 'the handler to see both');
    for (const rel of release) rel(true);
    t.equal(await acked, true);
    t.equal(bus.livePending(), 0, 'all settled');
  });

  t.test('live delivery: close settles offers without an outcome as not delivered', async (t) => {
    const { bus, cleanup } = await makeBus();
    t.teardown(cleanup);
    const [r, d] = [tok(), tok()];
    let seen = 0;
    await bus.subscribeDevice(r, d, () => { seen++; return new Promise<boolean>(() => {}); }, () => {}); // never answers
    const outcome = bus.deliverLive(r, d, bytes(10), 60_000);
    let called: boolean | null = null;
    bus.offerLive(Recipient.of(r, d), bytes(10), 60_000, (ok) => { called = ok; });
    await waitFor(() => seen === 2, 5000, 'the handler to see both offers');
    t.equal(bus.livePending(), 2, 'two offers wait for the device');
    await bus.close();
    // Settled by the time close resolved (a microtask later at most), not at the
    // offers' 60 s timeout: nothing else has had a turn since.
    const first = await Promise.race([outcome, new Promise<string>((res) => setImmediate(() => res('still pending')))]);
    t.equal(first, false, 'deliverLive resolved false');
    t.equal(called, false, 'offerLive\'s done got false');
    t.equal(bus.livePending(), 0, 'no offer counted any more');
  });

  t.test('live delivery: the latest subscription wins; closing it falls back', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const calls: string[] = [];
    const s1 = await bus.subscribeDevice(r, d, async () => { calls.push('s1'); return true; }, () => {});
    const s2 = await bus.subscribeDevice(r, d, async () => { calls.push('s2'); return true; }, () => {});
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), true);
    t.same(calls, ['s2']);
    await s2.close();
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), true);
    t.same(calls, ['s2', 's1'], 'an older subscription that is still open takes over');
    await s1.close();
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), false, 'no subscription left');
  });

  t.test('subscription close is idempotent and stops delivery', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    let n = 0;
    const s = await bus.subscribeDevice(r, d, async () => { n++; return true; }, () => {});
    await s.close();
    await s.close();
    await Promise.all([s.close(), s.close()]);
    t.equal(await bus.deliverLive(r, d, bytes(10), 1000), false);
    t.equal(n, 0);
    // a fresh subscription works again
    await bus.subscribeDevice(r, d, async () => true, () => {});
    t.equal(await bus.deliverLive(r, d, bytes(10), 2000), true);
  });

  t.test('control messages reach every open subscription of the device', async (t) => {
    const bus = await use(t);
    const [r, d, other] = [tok(), tok(), tok()];
    const a: ControlMessage[] = [];
    const b: ControlMessage[] = [];
    const c: ControlMessage[] = [];
    await bus.subscribeDevice(r, d, async () => true, (m) => a.push(m));
    await bus.subscribeDevice(r, d, async () => true, (m) => b.push(m));
    await bus.subscribeDevice(r, other, async () => true, (m) => c.push(m));
    await bus.publishControl(r, d, { kind: 'kick', connection: 'c0nn-ID_1' });
    await bus.publishControl(r, d, { kind: 'unregistered' });
    // `unregistered` comes on the device subject and, on NATS, again with its announcement
    // to every gateway (Bus.publishControl: at least once; a session closes at the first).
    const unregistered: ControlMessage[] = bus.kind === 'nats' ? [{ kind: 'unregistered' }, { kind: 'unregistered' }] : [{ kind: 'unregistered' }];
    await waitFor(() => a.length === 1 + unregistered.length && b.length === a.length, 3000, 'control messages');
    t.same(a, [{ kind: 'kick', connection: 'c0nn-ID_1' }, ...unregistered]);
    t.same(b, a);
    await sleep(50);
    t.same(c, [], 'other devices get nothing');
    t.equal(await codeOf(bus.publishControl(r, d, { kind: 'nope' } as unknown as ControlMessage)), 'BAD_REQUEST');
    t.equal(await codeOf(bus.publishControl(r, d, { kind: 'kick', connection: 'has space' })), 'BAD_REQUEST');
    t.equal(await codeOf(bus.publishControl(r, d, { kind: 'kick', connection: 'x'.repeat(65) })), 'BAD_REQUEST');
  });

  t.test('mailbox: put, read in order, afterSeq, pages', async (t) => {
    const bus = await use(t, { ...CONTRACT_LIMITS, maxMessagesPerDevice: 50 });
    const [r, d] = [tok(), tok()];
    t.same(await bus.mailboxRead(r, d, 0, 10), [], 'empty mailbox');
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const env = bytes(20 + i);
      sent.push(env);
      await bus.mailboxPut(r, d, tok(), env);
    }
    const all = await bus.mailboxRead(r, d, 0, 100);
    t.equal(all.length, 10);
    t.same(all.map((i) => Buffer.from(i.data)), sent.map((s) => Buffer.from(s)), 'oldest first');
    for (let i = 1; i < all.length; i++) t.ok((all[i] as { seq: number }).seq > (all[i - 1] as { seq: number }).seq, 'seq increases');
    const s3 = (all[2] as { seq: number }).seq;
    const after = await bus.mailboxRead(r, d, s3, 100);
    t.same(after.map((i) => i.seq), all.slice(3).map((i) => i.seq), 'afterSeq skips');
    // drain in pages of 3, chaining afterSeq
    const paged: number[] = [];
    let cursor = 0;
    for (let guard = 0; guard < 20; guard++) {
      const page = await bus.mailboxRead(r, d, cursor, 3);
      if (page.length === 0) break;
      t.ok(page.length <= 3);
      paged.push(...page.map((i) => i.seq));
      cursor = (page[page.length - 1] as { seq: number }).seq;
      if (paged.length === 6) {
        // mail arriving mid-drain shows up on a later page
        await bus.mailboxPut(r, d, tok(), bytes(5));
      }
    }
    t.equal(paged.length, 11, 'pages cover everything, including mail put mid-drain');
    t.same(paged.slice(0, 10), all.map((i) => i.seq));
    t.same(await bus.mailboxRead(r, d, 0, 0), [], 'max 0');
    // other devices of the same route are separate
    t.same(await bus.mailboxRead(r, tok(), 0, 10), []);
  });

  t.test('mailbox: the same afterSeq can be read again (redelivery after a lost ack)', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 4; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    const a = await bus.mailboxRead(r, d, 0, 2);
    const b = await bus.mailboxRead(r, d, 0, 2);
    t.same(b.map((i) => i.seq), a.map((i) => i.seq));
    const c = await bus.mailboxRead(r, d, (a[1] as { seq: number }).seq, 10);
    t.equal(c.length, 2);
    const again = await bus.mailboxRead(r, d, (a[0] as { seq: number }).seq, 10);
    t.equal(again.length, 3);
  });

  t.test('mailbox: delete', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 3; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    const items = await bus.mailboxRead(r, d, 0, 10);
    const mid = (items[1] as { seq: number }).seq;
    await bus.mailboxDelete(r, d, mid);
    await bus.mailboxDelete(r, d, mid); // idempotent
    await bus.mailboxDelete(r, d, 999_999_999); // never existed
    const left = await bus.mailboxRead(r, d, 0, 10);
    t.same(left.map((i) => i.seq), [(items[0] as { seq: number }).seq, (items[2] as { seq: number }).seq]);
  });

  t.test('mailbox: deleteMany removes a page at once, only this device\'s, idempotently', async (t) => {
    const bus = await use(t);
    const [r, d, d2] = [tok(), tok(), tok()];
    for (let i = 0; i < 5; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    await bus.mailboxPut(r, d2, tok(), bytes(8, 7));
    const items = await bus.mailboxRead(r, d, 0, 10);
    const [other] = await bus.mailboxRead(r, d2, 0, 10);
    const seqs = items.map((i) => i.seq);
    await bus.mailboxDeleteMany(r, d, [seqs[0]!, seqs[2]!, seqs[3]!, (other as { seq: number }).seq, 999_999_999, 0]);
    t.same((await bus.mailboxRead(r, d, 0, 10)).map((i) => i.seq), [seqs[1], seqs[4]], 'the acked ones are gone, in order');
    t.equal((await bus.mailboxRead(r, d2, 0, 10)).length, 1, "another device's seq in the batch is left alone");
    await bus.mailboxDeleteMany(r, d, [seqs[0]!, seqs[2]!]); // again: fine
    await bus.mailboxDeleteMany(r, d, []); // nothing: fine
    await bus.mailboxDeleteMany(r, d, [seqs[1]!, seqs[4]!]);
    t.same(await bus.mailboxRead(r, d, 0, 10), [], 'all gone');
    t.equal(await codeOf(bus.mailboxDeleteMany(r, d, [1, -1])), 'BAD_REQUEST', 'a bad seq');
    t.equal(await codeOf(bus.mailboxDeleteMany(r, d, 'x' as unknown as number[])), 'BAD_REQUEST', 'not an array');
    t.equal(await codeOf(bus.mailboxDeleteMany(r, d, new Array<number>(5000).fill(1))), 'BAD_REQUEST', 'too many');
  });

  t.test('mailbox: deleteMany of a large drained page', async (t) => {
    const bus = await use(t, { ...CONTRACT_LIMITS, maxMessagesPerDevice: 300 });
    const [r, d] = [tok(), tok()];
    await Promise.all(Array.from({ length: 300 }, (_, i) => bus.mailboxPut(r, d, tok(), bytes(8, i & 0xff))));
    const items = await bus.mailboxRead(r, d, 0, 1024);
    t.equal(items.length, 300);
    await bus.mailboxDeleteMany(r, d, items.slice(0, 299).map((i) => i.seq));
    t.same((await bus.mailboxRead(r, d, 0, 1024)).map((i) => i.seq), [items[299]!.seq], 'all but the last erased');
  });

  t.test('mailbox: a page whose messages were deleted meanwhile ends promptly', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 5; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    const all = await bus.mailboxRead(r, d, 0, 5);
    const first = await bus.mailboxRead(r, d, 0, 2);
    t.equal(first.length, 2);
    for (const it of all.slice(2)) await bus.mailboxDelete(r, d, it.seq); // the rest vanish
    // Ends on the store's "no more messages", with an empty page: a read that waited for
    // the messages it expected would end at its own deadline, failing UNAVAILABLE ('mailbox
    // read timed out'), not resolve. The wait bounds a hang; it is not a timing.
    t.same(await within(bus.mailboxRead(r, d, (first[1] as { seq: number }).seq, 10), 30_000, 'the next page'), [], 'an empty page');
    await bus.mailboxPut(r, d, tok(), bytes(8, 9));
    const next = await bus.mailboxRead(r, d, (first[1] as { seq: number }).seq, 10);
    t.equal(next.length, 1, 'new mail after that is found');
  });

  t.test("mailbox: delete with another device's tokens leaves the message", async (t) => {
    const bus = await use(t);
    const [r, d, d2] = [tok(), tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(8));
    const [item] = await bus.mailboxRead(r, d, 0, 10);
    await bus.mailboxDelete(r, d2, (item as { seq: number }).seq);
    await bus.mailboxDelete(tok(), d, (item as { seq: number }).seq);
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1);
  });

  t.test('mailbox: purge one device, then a whole route', async (t) => {
    const bus = await use(t);
    const [r, d1, d2, r2] = [tok(), tok(), tok(), tok()];
    for (const d of [d1, d2]) for (let i = 0; i < 2; i++) await bus.mailboxPut(r, d, tok(), bytes(8));
    await bus.mailboxPut(r2, d1, tok(), bytes(8));
    await bus.mailboxPurge(r, d1);
    t.same(await bus.mailboxRead(r, d1, 0, 10), []);
    t.equal((await bus.mailboxRead(r, d2, 0, 10)).length, 2);
    await bus.mailboxPut(r, d1, tok(), bytes(8));
    await bus.mailboxPurge(r);
    t.same(await bus.mailboxRead(r, d1, 0, 10), []);
    t.same(await bus.mailboxRead(r, d2, 0, 10), []);
    t.equal((await bus.mailboxRead(r2, d1, 0, 10)).length, 1, 'other routes untouched');
    await bus.mailboxPurge(tok()); // nothing there: fine
  });

  t.test('mailbox owners: every mailbox holding mail, once; emptied ones not', async (t) => {
    const bus = await use(t);
    const [r1, r2, d1, d2, d3] = [tok(), tok(), tok(), tok(), tok()];
    const list = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const o of bus.mailboxOwners()) out.push(`${o.routeTag}.${o.deviceToken}`);
      return out.sort();
    };
    t.same(await list(), [], 'none yet');
    for (let i = 0; i < 3; i++) await bus.mailboxPut(r1, d1, tok(), bytes(8));
    await bus.mailboxPut(r1, d2, tok(), bytes(8));
    await bus.mailboxPut(r2, d3, tok(), bytes(8));
    t.same(await list(), [`${r1}.${d1}`, `${r1}.${d2}`, `${r2}.${d3}`].sort(), 'each owner once');
    const items = await bus.mailboxRead(r1, d2, 0, 10);
    await bus.mailboxDeleteMany(r1, d2, items.map((i) => i.seq));
    await bus.mailboxPurge(r2, d3);
    t.same(await list(), [`${r1}.${d1}`], 'emptied by delete or purge: gone from the list');
  });

  t.test('mailbox: MAILBOX_FULL at the limit, old mail kept', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const max = CONTRACT_LIMITS.maxMessagesPerDevice;
    const sent: Buffer[] = [];
    for (let i = 0; i < max; i++) {
      const env = bytes(16);
      sent.push(Buffer.from(env));
      await bus.mailboxPut(r, d, tok(), env);
    }
    t.equal(await codeOf(bus.mailboxPut(r, d, tok(), bytes(16))), 'MAILBOX_FULL');
    t.equal(await codeOf(bus.mailboxPut(r, d, tok(), bytes(16))), 'MAILBOX_FULL', 'still full');
    const items = await bus.mailboxRead(r, d, 0, 100);
    t.same(items.map((i) => Buffer.from(i.data)), sent, 'the oldest mail is still there');
    await bus.mailboxPut(r, tok(), tok(), bytes(16)); // another device is not affected
    await bus.mailboxDelete(r, d, (items[0] as { seq: number }).seq);
    await bus.mailboxPut(r, d, tok(), bytes(16));
    t.equal((await bus.mailboxRead(r, d, 0, 100)).length, max, 'room again after a delete');
  });

  t.test('mailbox: a repeated id is stored once', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const id = tok();
    await bus.mailboxPut(r, d, id, bytes(16, 1));
    await bus.mailboxPut(r, d, id, bytes(16, 1));
    await bus.mailboxPut(r, d, id, bytes(16, 2));
    const items = await bus.mailboxRead(r, d, 0, 10);
    t.equal(items.length, 1);
    t.ok((items[0] as { data: Uint8Array }).data.every((b) => b === 1), 'the first copy is kept');
    // still deduplicated after the original was delivered and deleted
    await bus.mailboxDelete(r, d, (items[0] as { seq: number }).seq);
    await bus.mailboxPut(r, d, id, bytes(16, 1));
    t.same(await bus.mailboxRead(r, d, 0, 10), []);
    t.equal(await codeOf(bus.mailboxPut(r, d, 'not-hex', bytes(16))), 'BAD_REQUEST');
    t.equal(await codeOf(bus.mailboxPut(r, d, 'AB'.repeat(16), bytes(16))), 'BAD_REQUEST');
  });

  t.test('mailbox and live: TOO_LARGE', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const max = CONTRACT_LIMITS.maxMessageBytes;
    await bus.mailboxPut(r, d, tok(), bytes(max)); // exactly the limit is fine
    t.equal(await codeOf(bus.mailboxPut(r, d, tok(), bytes(max + 1))), 'TOO_LARGE');
    t.equal(await codeOf(bus.deliverLive(r, d, bytes(max + 1), 1000)), 'TOO_LARGE');
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1);
  });

  t.test('mailbox: messages expire after maxAgeMs', async (t) => {
    const bus = await use(t, { ...CONTRACT_LIMITS, maxAgeMs: 1000 });
    const [r, d] = [tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(8));
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1);
    await waitFor(async () => (await bus.mailboxRead(r, d, 0, 10)).length === 0, 6000, 'expiry');
    t.pass('expired');
  });

  t.test('directory: CAS create, update, conflict, delete', async (t) => {
    const bus = await use(t);
    const r = tok();
    t.equal(await bus.directoryGet(r), null);
    const v1 = bytes(40, 1);
    const rev1 = await bus.directoryPut(r, v1, 0);
    t.type(rev1, 'number');
    t.ok((rev1 as number) > 0);
    t.equal(await bus.directoryPut(r, bytes(40, 9), 0), null, 'create when it exists: conflict');
    const got = await bus.directoryGet(r);
    t.same(got && Buffer.from(got.value), Buffer.from(v1));
    t.equal(got?.revision, rev1);
    const rev2 = await bus.directoryPut(r, bytes(40, 2), rev1 as number);
    t.ok(rev2 !== null && rev2 > (rev1 as number), 'update with the right revision');
    t.equal(await bus.directoryPut(r, bytes(40, 3), rev1 as number), null, 'stale revision: conflict');
    t.equal(await bus.directoryPut(tok(), bytes(40, 3), 5), null, 'update of a missing key: conflict');
    const got2 = await bus.directoryGet(r);
    t.ok(got2 !== null && got2.value.every((b) => b === 2) && got2.revision === rev2);
    const lead = await bus.directoryGet(r, { fromLeader: true });
    t.ok(lead !== null && lead.value.length === 40 && lead.value.every((b) => b === 2) && lead.revision === rev2, 'fromLeader: the same entry');
    t.equal(await bus.directoryGet(tok(), { fromLeader: true }), null, 'fromLeader: a missing key');
    await bus.directoryDelete(r);
    t.equal(await bus.directoryGet(r), null, 'gone after delete');
    t.equal(await bus.directoryGet(r, { fromLeader: true }), null, 'gone after delete (fromLeader)');
    await bus.directoryDelete(r); // idempotent
    t.equal(await bus.directoryPut(r, bytes(40, 4), rev2 as number), null, 'old revision does not resurrect it');
    const rev3 = await bus.directoryPut(r, bytes(40, 4), 0);
    t.ok(rev3 !== null, 'create again after delete');
    t.equal(await codeOf(bus.directoryPut(r, bytes(70_000), rev3 as number)), 'TOO_LARGE');
    t.equal(await codeOf(bus.directoryPut(r, bytes(4), -1)), 'BAD_REQUEST');
  });

  t.test('directory: a delete with an expected revision erases only that revision', async (t) => {
    const { bus } = await makeBus();
    t.teardown(() => bus.close());
    const r = tok();
    t.equal(await bus.directoryDelete(r, 1), false, 'a missing key: nothing to delete');
    const rev1 = (await bus.directoryPut(r, bytes(40, 1), 0)) as number;
    const rev2 = (await bus.directoryPut(r, bytes(40, 2), rev1)) as number;
    t.equal(await bus.directoryDelete(r, rev1), false, 'a stale revision: refused');
    const kept = await bus.directoryGet(r);
    t.ok(kept !== null && kept.revision === rev2 && kept.value.every((b) => b === 2), 'and the entry is untouched');
    t.equal(await bus.directoryDelete(r, rev2), true, 'the current revision: deleted');
    t.equal(await bus.directoryGet(r), null, 'gone');
    t.equal(await bus.directoryGet(r, { fromLeader: true }), null, 'gone (fromLeader)');
    t.equal(await bus.directoryDelete(r, rev2), false, 'twice: nothing left to delete');
    t.equal(await bus.directoryPut(r, bytes(40, 3), rev2), null, 'its revision does not resurrect it');
    const rev3 = await bus.directoryPut(r, bytes(40, 3), 0);
    t.ok(rev3 !== null, 'created again after it');
    for (const bad of [0, -1, 1.5, Number.NaN, '1' as unknown as number, null as unknown as number]) {
      t.equal(await codeOf(bus.directoryDelete(r, bad)), 'BAD_REQUEST', `revision ${String(bad)}`);
    }
    const still = await bus.directoryGet(r);
    t.ok(still !== null && still.revision === rev3, 'a refused call touched nothing');
  });

  t.test('sink forms: a live sink gets envelopes, a control sink control messages; other handler types are BAD_REQUEST', async (t) => {
    const bus = await use(t);
    const [r, d] = [tok(), tok()];
    const got: Uint8Array[] = [];
    const ctl: ControlMessage[] = [];
    const sink = {
      offer(env: Uint8Array, done: (ok: boolean) => void): void { got.push(env.slice()); done(true); },
      control(m: ControlMessage): void { ctl.push(m); },
    };
    await bus.subscribeDevice(r, d, sink, sink);
    t.equal(await bus.deliverLive(r, d, bytes(12), 2000), true, 'delivered through offer()');
    t.equal(got.length, 1);
    await bus.publishControl(r, d, { kind: 'mail' });
    await waitFor(() => ctl.length === 1, 3000, 'control through control()');
    t.same(ctl, [{ kind: 'mail' }]);
    for (const [onEnv, onCtl, what] of [
      [null, () => {}, 'null envelope handler'],
      [{}, () => {}, 'an object without offer'],
      [async () => true, null, 'null control handler'],
      [async () => true, { control: 1 }, 'an object whose control is not a function'],
      [async () => true, 'x', 'a string'],
    ] as Array<[unknown, unknown, string]>) {
      t.equal(await codeOf(bus.subscribeDevice(tok(), tok(), onEnv as never, onCtl as never)), 'BAD_REQUEST', what);
    }
  });

  t.test('bad tokens are rejected with BAD_TOKEN before the bus is touched', async (t) => {
    const { bus, cleanup } = await makeBus();
    await cleanup(); // closed: any call that reached the bus would say UNAVAILABLE
    const good = tok();
    const calls = (x: string): Array<[string, () => Promise<unknown>]> => [
      ['subscribeDevice route', () => bus.subscribeDevice(x, good, async () => true, () => {})],
      ['subscribeDevice device', () => bus.subscribeDevice(good, x, async () => true, () => {})],
      ['deliverLive route', () => bus.deliverLive(x, good, bytes(4), 100)],
      ['deliverLive device', () => bus.deliverLive(good, x, bytes(4), 100)],
      ['publishControl', () => bus.publishControl(good, x, { kind: 'unregistered' })],
      ['mailboxPut route', () => bus.mailboxPut(x, good, tok(), bytes(4))],
      ['mailboxPut device', () => bus.mailboxPut(good, x, tok(), bytes(4))],
      ['mailboxRead', () => bus.mailboxRead(good, x, 0, 10)],
      ['mailboxDelete', () => bus.mailboxDelete(x, good, 1)],
      ['mailboxDeleteMany route', () => bus.mailboxDeleteMany(x, good, [1])],
      ['mailboxDeleteMany device', () => bus.mailboxDeleteMany(good, x, [1])],
      ['mailboxPurge route', () => bus.mailboxPurge(x)],
      ['mailboxPurge device', () => bus.mailboxPurge(good, x)],
      ['directoryGet', () => bus.directoryGet(x)],
      ['directoryPut', () => bus.directoryPut(x, bytes(4), 0)],
      ['directoryDelete', () => bus.directoryDelete(x)],
    ];
    for (const bad of [...BAD_TOKENS, 42 as unknown as string, undefined as unknown as string]) {
      for (const [name, call] of calls(bad)) {
        if (bad === undefined && name === 'mailboxPurge device') continue; // undefined = whole route
        t.equal(await codeOf(call), 'BAD_TOKEN', `${name} ${JSON.stringify(bad)}`);
      }
    }
    t.equal(await codeOf(bus.mailboxRead(good, good, 0, 1)), 'UNAVAILABLE', 'valid tokens reach the closed bus');
    // offerLive takes a Recipient (relay/tokens.ts), whose strings are checked when made:
    // anything else, even an object of the same shape, is BAD_TOKEN
    const fake = { tag: good, device: '..>'.padEnd(32, 'x'), key: `${good}.>` };
    for (const to of [fake, null, `${good}.${good}`, 42]) {
      t.equal(await codeOf(async () => bus.offerLive(to as never, bytes(4), 100, () => {})), 'BAD_TOKEN', `offerLive ${JSON.stringify(to)}`);
    }
    t.equal(await codeOf(async () => bus.offerLive(Recipient.of(good, good), bytes(4), 100, () => {})), 'UNAVAILABLE', 'a Recipient reaches the closed bus');
  });

  t.test('close is idempotent; calls after close are UNAVAILABLE', async (t) => {
    const { bus, cleanup } = await makeBus();
    const [r, d] = [tok(), tok()];
    const sub = await bus.subscribeDevice(r, d, async () => true, () => {});
    await Promise.all([bus.close(), bus.close()]);
    await bus.close();
    t.equal(bus.status().state, 'closed');
    await sub.close(); // still fine
    t.equal(await codeOf(bus.deliverLive(r, d, bytes(4), 100)), 'UNAVAILABLE');
    t.equal(await codeOf(bus.mailboxPut(r, d, tok(), bytes(4))), 'UNAVAILABLE');
    t.equal(await codeOf(bus.directoryGet(r)), 'UNAVAILABLE');
    t.equal(await codeOf(bus.start()), 'UNAVAILABLE', 'no restart after close');
    await cleanup();
  });

  t.test('status is connected after start; start is idempotent', async (t) => {
    const bus = await use(t);
    await bus.start();
    await Promise.all([bus.start(), bus.start()]);
    t.same(bus.status(), { state: 'connected' });
  });
}
