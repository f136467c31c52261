// The bus's JetStream request pool (relay/bus/nats-requests.ts) keeps a reserve for the
// directory reads of authentications: other requests (stored sends' and lookups'
// directory reads, mailbox reads) that fill their share while nats-server stalls are
// refused UNAVAILABLE at once, and an authentication's read still gets in and is
// answered once the server goes on. Against a real nats-server, stalled with SIGSTOP on
// the PID this test started (SIGCONT at teardown and by a timer, so it never stays
// stopped), with a small pool (requestPool option) instead of a 65,536-request flood.
import t from 'tap';
import { NatsBus } from '../../relay/bus/nats.ts';
import { ErrorCode, isHushwireError } from '../../relay/errors.ts';
import { CONTRACT_LIMITS, bytes, tok } from './contract.ts';
import { haveNatsServer, stallNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';

/** The pool: 16 requests in flight, 8 of them only for authentications (the other 8
 *  hold the start's permission probes of a one-shard mailbox, which go out at once). */
const POOL = { maxPending: 16, authReserve: 8 };
const OTHER_MAX = POOL.maxPending - POOL.authReserve;
/** Longer than any stall here: nothing times out while the server is stopped. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The longest a test keeps nats-server stopped (then SIGCONT regardless). */
const STALL_MAX_MS = 15_000;

interface Outcome<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

/** Follows a promise without awaiting it (so a rejection is never unhandled). */
function follow<T>(p: Promise<T>): Outcome<T> & { done: Promise<void> } {
  const o: Outcome<T> & { done: Promise<void> } = { settled: false, done: Promise.resolve() };
  o.done = p.then((v) => { o.settled = true; o.value = v; }, (e: unknown) => { o.settled = true; o.error = e; });
  return o;
}


/** Refused by the pool: UNAVAILABLE, for lack of room (said by the error or its cause:
 *  directoryGet wraps it as 'directory unavailable'). */
const refusedByPool = (o: Outcome<unknown>): boolean => {
  if (!o.settled || !isHushwireError(o.error) || o.error.code !== ErrorCode.UNAVAILABLE) return false;
  const { message, cause } = o.error;
  return /too many store requests in flight/.test(message) || (cause instanceof Error && /too many store requests in flight/.test(cause.message));
};
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const server = await startNatsServer({ t });
  let n = 0;
  const newBus = async (tt: { teardown(fn: () => unknown): void }, lines: string[]): Promise<NatsBus> => {
    const bus = new NatsBus({
      servers: server.url, limits: CONTRACT_LIMITS, prefix: `rp${++n}`, mailboxShards: 1, name: 'hushwire-test',
      requestTimeoutMs: REQUEST_TIMEOUT_MS, requestPool: POOL,
      log: (level, msg) => { lines.push(`${level} ${msg}`); },
    });
    tt.teardown(() => bus.close());
    await bus.start();
    // Nothing of the start still in flight: the pool is empty when the stall begins.
    await until('an idle request pool', () => bus.requestPool().auth.pending + bus.requestPool().other.pending === 0, 10_000);
    return bus;
  };
  /** Refusals per class since `base`. */
  const refusedSince = (bus: NatsBus, base: ReturnType<NatsBus['requestPool']>): { auth: number; other: number } => {
    const now = bus.requestPool();
    return { auth: now.auth.refused - base.auth.refused, other: now.other.refused - base.other.refused };
  };
  const pendingOf = (bus: NatsBus): { auth: number; other: number } => {
    const now = bus.requestPool();
    return { auth: now.auth.pending, other: now.other.pending };
  };

  t.test('other requests fill their share and are refused at once; an authentication still reads the directory', async (t) => {
    const lines: string[] = [];
    const bus = await newBus(t, lines);
    const tag = tok();
    const entry = bytes(40, 7);
    await bus.directoryPut(tag, entry, 0);
    const base = bus.requestPool();

    const resume = stallNatsServer(t, server, STALL_MAX_MS);

    await resume.stopped; // every thread frozen: nothing more is answered
    // Stored sends / lookups (directory reads of other devices) and mailbox reads: the
    // stalled server answers none of them, so they hold the non-reserved part.
    const held = Array.from({ length: OTHER_MAX }, (_, i) => follow<unknown>(i % 2 === 0 ? bus.directoryGet(tok()) : bus.mailboxRead(tok(), tok(), 0, 10)));
    t.same(pendingOf(bus), { auth: 0, other: OTHER_MAX }, 'the non-reserved part is full');
    t.same(refusedSince(bus, base), { auth: 0, other: 0 }, 'nothing refused yet');

    // One more of each is refused at once: the server is stopped, so nothing but the
    // pool can have answered, and the held ones are still waiting.
    const refusedRead = follow(bus.directoryGet(tok()));
    const refusedMailbox = follow(bus.mailboxRead(tok(), tok(), 0, 10));
    await Promise.all([refusedRead.done, refusedMailbox.done]);
    t.ok(refusedByPool(refusedRead), `a stored send's directory read: UNAVAILABLE at once (${String(refusedRead.error)})`);
    t.ok(refusedByPool(refusedMailbox), `a mailbox read: UNAVAILABLE at once (${String(refusedMailbox.error)})`);
    t.ok(held.every((o) => !o.settled), 'the held requests are still waiting for the stalled server');

    // An authentication's read gets into the reserve...
    const auth = follow(bus.directoryGet(tag, { authentication: true }));
    await new Promise((r) => setImmediate(r));
    t.notOk(auth.settled, 'the authentication read was not refused');
    t.same(pendingOf(bus), { auth: 1, other: OTHER_MAX }, 'it waits in the reserve');

    // ...and is answered once the server goes on.
    resume();
    await auth.done;
    t.equal(auth.error, undefined, 'the authentication read succeeded');
    t.ok(sameBytes(auth.value?.value, entry), 'with the directory entry');
    await Promise.all(held.map((o) => o.done));
    t.ok(held.every((o) => o.settled && o.error === undefined), 'the held requests are answered too');
    t.same(pendingOf(bus), { auth: 0, other: 0 }, 'nothing left in flight');
    t.same(refusedSince(bus, base), { auth: 0, other: 2 }, 'refusals counted per class');
    t.same(refusedSince(bus, { auth: { pending: 0, refused: 0 }, other: { pending: 0, refused: 0 } }), { auth: 0, other: 2 }, 'the start refused nothing');
    const warned = lines.filter((l) => l.startsWith('warn bus: too many JetStream requests in flight (class other'));
    t.equal(warned.length, 1, `one warning for the refused class: ${warned.join(' | ')}`);
    t.notOk(lines.some((l) => /[0-9a-f]{32}/.test(l)), 'no route tag or device token in the log');
  });

  t.test('authentications may use the whole pool, and are refused at once beyond it', async (t) => {
    const lines: string[] = [];
    const bus = await newBus(t, lines);
    const tag = tok();
    const entry = bytes(40, 9);
    await bus.directoryPut(tag, entry, 0);
    const base = bus.requestPool();
    const warnedBefore = lines.length;

    const resume = stallNatsServer(t, server, STALL_MAX_MS);

    await resume.stopped; // every thread frozen: nothing more is answered
    const held = [follow(bus.directoryGet(tok())), follow(bus.mailboxRead(tok(), tok(), 0, 10))];
    const auths = Array.from({ length: POOL.maxPending - held.length }, () => follow(bus.directoryGet(tag, { authentication: true })));
    t.same(pendingOf(bus), { auth: auths.length, other: held.length }, 'the whole pool in use');
    const over = follow(bus.directoryGet(tag, { authentication: true }));
    const other = follow(bus.directoryGet(tok()));
    await Promise.all([over.done, other.done]);
    t.ok(refusedByPool(over), `an authentication beyond the pool: UNAVAILABLE at once (${String(over.error)})`);
    t.ok(refusedByPool(other), 'so is any other request');

    resume();
    await Promise.all([...held, ...auths].map((o) => o.done));
    t.ok(auths.every((o) => o.error === undefined && sameBytes(o.value?.value, entry)), 'every admitted authentication read was answered');
    t.same(pendingOf(bus), { auth: 0, other: 0 });
    t.same(refusedSince(bus, base), { auth: 1, other: 1 });
    t.ok(lines.slice(warnedBefore).some((l) => l.startsWith('warn bus: too many JetStream requests in flight (class auth')), 'the refused authentication is logged');
  });

  t.test('the pool bounds are checked', async (t) => {
    for (const requestPool of [{ maxPending: 8, authReserve: 8 }, { maxPending: 8, authReserve: 0 }, { maxPending: 1.5, authReserve: 1 }]) {
      t.throws(() => new NatsBus({ servers: server.url, limits: CONTRACT_LIMITS, requestPool }), RangeError, `refused: ${JSON.stringify(requestPool)}`);
    }
  });
}
