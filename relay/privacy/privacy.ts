// The gateway's privacy guard (docs/PRIVACY.md): shared discovery and opt-in budgets,
// fixed-size lookup answers, "new device" notices, and the expiry of idle devices.
// The Relay owns one; relay/session.ts calls it at a few points (evaluate, lookup,
// verify_start, register, auth, control messages).
import { Counter } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import type { Relay } from '../relay.ts';
import type { DirectoryReadOptions } from '../bus/bus.ts';
import type { DirectoryDevice } from '../wire.ts';
import { routeTag, deviceToken } from '../tokens.ts';
import { bytesEqual } from '../bytes.ts';
import { toWireError } from '../errors.ts';
import { SharedBudgets, RateLimited, type ChargeSpec, type WindowRecord } from './budget.ts';
import { paddedDevices } from './lookup.ts';
import { editDevices, deviceProps, DELETE_ENTRY } from './devices.ts';
import { announcedRemoval } from '../bus/unregistered.ts';
import {
  DEFAULT_PRIVACY, RATE_WINDOW_MS, idleSweepEveryMs, lastSeenWriteEveryMs, type PrivacyOptions,
} from './options.ts';

/** An unfinished registration's write whose answer never came (a timeout, NATS lost under
 *  it), found absent at the leader, is looked for there once more this long after that
 *  read (Privacy.eraseUnfinished `writeUnknown`): the read, answered after the write went
 *  out, shows nats-server had taken the write in, and its stream applies it within this
 *  (a replicated one once its followers acknowledged it). */
export const LATE_WRITE_RECHECK_MS = 2_000;
/** How soon an unfinished registration's clean-up reads the record again after a read
 *  failed (within its UNFINISHED_DEADLINE_MS). */
const UNFINISHED_READ_RETRY_MS = 1_000;
/** A lookup's directory read (lookupOne): at the leader while the bus doubts its copy. */
const LOOKUP_READ: DirectoryReadOptions = Object.freeze({ leaderIfInDoubt: true });
/** A `fresh` lookup's: at the leader always. */
const FRESH_LOOKUP_READ: DirectoryReadOptions = Object.freeze({ fromLeader: true });

/** What a Session exposes to the guard. */
export interface PrivacySession {
  readonly authenticated: boolean;
  /** The device this connection authenticated as (null before). */
  readonly deviceKey: { tag: string; devTok: string; device: Uint8Array } | null;
  /** Queues an unsolicited `notice` op to the device. */
  notify(kind: 'new_device', atMs: number): void;
  /** A send-only connection (Auth.send_only): shown no notice, which stays pending. */
  readonly sendOnly?: boolean;
}

/** What Privacy.eraseUnfinished did (hushwire_unfinished_registrations_total's outcome). */
export type UnfinishedOutcome = 'removed' | 'absent' | 'kept' | 'failed';
const UNFINISHED_OUTCOMES: readonly UnfinishedOutcome[] = ['removed', 'absent', 'kept', 'failed'];
/** How long the removal of an unfinished registration's device may take (its directory
 *  edit and mail erase) before it is given up to the idle expiry. */
export const UNFINISHED_DEADLINE_MS = 30_000;
const SWEEP_LEASE_KEY = `sweep.${'0'.repeat(32)}`;
/** How often periodic work waiting for the bus to reconnect looks at its status, on a
 *  bus that cannot say when it reconnects (without Bus.reconnected). */
const RECONNECT_POLL_MS = 250;
/** Runs of one period's idle sweep at most: the first, and one after each reconnect
 *  that interrupted the one before. */
const SWEEP_RUNS = 4;
const LIMIT_LABELS = ['discovery_device', 'discovery_route', 'verify_start'] as const;

/** A discovery budget's refusal as a user reads it (the CLI prints it): what the budget
 *  is and its size, never the label of the metric. A batch bigger than what is left says
 *  so: the budget is not used up then, and fewer numbers at once still pass. */
function budgetRefusal(what: string, size: string, left: number, asked: number): string {
  return left <= 0 ? `${what} used up (${size})` : `${what} has room for ${left} more number${left === 1 ? '' : 's'}, not the ${asked} asked for (${size})`;
}
const te = new TextEncoder();
const td = new TextDecoder();

export class Privacy {
  readonly options: Readonly<PrivacyOptions>;
  readonly #relay: Relay;
  readonly #budgets: SharedBudgets;
  readonly #touchedAt = new WeakMap<PrivacySession, number>();
  readonly #expired: Counter;
  readonly #orphans: Counter;
  readonly #notices: Counter<'path'>;
  readonly #unfinished: Counter<'outcome'>;
  #timers: NodeJS.Timeout[] = [];
  #sweeping: Promise<number> | null = null;
  /** A last_seen pass waits for the bus to reconnect (#touchConnected). */
  #touchWaiting = false;
  #stopped = false;
  /** Aborted by stop(): wakes a sweep from its wait between erase attempts. */
  readonly #stop = new AbortController();
  /** Aborted by abortUnfinished() (the gateway's close, past its wait for them): the
   *  removals of unfinished registrations still under way give up. Not by stop(), which
   *  the close calls before its connections close and begin theirs. */
  readonly #unfinishedStop = new AbortController();

  constructor(relay: Relay, options: Partial<PrivacyOptions> = {}) {
    this.#relay = relay;
    this.options = Object.freeze({ ...DEFAULT_PRIVACY, ...options });
    this.#budgets = new SharedBudgets(relay.bus, RATE_WINDOW_MS);
    const r = [relay.metrics.registry];
    this.#expired = new Counter({ name: 'hushwire_idle_devices_expired_total', help: 'Devices erased by this gateway because they were idle beyond --device-idle-expiry-s', registers: r });
    this.#orphans = new Counter({ name: 'hushwire_orphan_mailboxes_erased_total', help: 'Mailboxes erased by the sweep because their device was no longer in the directory (an opt-out or expiry whose mail erase had failed, or mail stored behind it)', registers: r });
    this.#notices = new Counter({ name: 'hushwire_new_device_notices_total', help: 'New-device notices, by path (live = sent to a connected device, stored = flagged for its next authentication)', labelNames: ['path'], registers: r });
    this.#unfinished = new Counter({ name: 'hushwire_unfinished_registrations_total', help: 'Registrations whose connection closed before they finished while a directory write of theirs may have landed, by what this gateway then did: removed (the device was listed as that register wrote it: removed, its mailbox erased), absent (not listed: nothing had landed, or it was gone already; a write that got no answer is looked for once more 2 s later), kept (listed as another registration of the device, left alone), failed (NATS did not answer within the deadline: the idle expiry removes it)', labelNames: ['outcome'], registers: r });
    for (const outcome of UNFINISHED_OUTCOMES) this.#unfinished.inc({ outcome }, 0);
    for (const limit of LIMIT_LABELS) relay.metrics.rateLimited.inc({ limit }, 0);
  }

  // ---------------------------------------------------------------- budgets

  #limited(e: unknown): never {
    if (e instanceof RateLimited) this.#relay.metrics.rateLimited.inc({ limit: e.label });
    throw e;
  }

  /** Charges `n` blinded numbers to the device and its route (all gateways share the
   *  counters). Over budget: RATE_LIMITED with retry_after_ms. Resolves with the
   *  function that gives the charge back when no evaluation went to the handset after
   *  all (true: given back; false: it stays, budgets.ts `refund`; once per charge, however
   *  often called). */
  async chargeDiscovery(tag: string, devTok: string, registeredAtMs: number, n: number): Promise<() => Promise<boolean>> {
    const o = this.options;
    const regAt = registeredAtMs > 0 ? registeredAtMs : Date.now();
    const specs: ChargeSpec[] = [
      {
        key: `dev.${devTok}`, n, label: 'discovery_device',
        // The first window starts at registration and holds a full contact sync.
        fresh: (now): WindowRecord => (now < regAt + RATE_WINDOW_MS ? { s: Math.min(regAt, now), n: 0, f: 1 } : { s: now, n: 0 }),
        limit: (w) => (w.f === 1 ? o.discoveryFirstSync : o.discoveryDaily),
        refusal: (limit, w) => budgetRefusal('discovery budget of this device', w.f === 1 ? `${limit} numbers in its first 24 h` : `${limit} numbers per 24 h`, limit - w.n, n),
      },
      {
        key: `rt.${tag}`, n, label: 'discovery_route', fresh: (now) => ({ s: now, n: 0 }), limit: () => o.discoveryRouteDaily,
        refusal: (limit, w) => budgetRefusal('discovery budget of this phone number (all its devices together)', `${limit} numbers per 24 h`, limit - w.n, n),
      },
    ];
    const charged = await this.#budgets.charge(specs).catch((e: unknown) => this.#limited(e));
    return () => this.#budgets.refund(charged);
  }

  /** Charges one verify_start to the number, keyed by its route tag (OPRF-derived, so
   *  the counter's key says nothing to whoever lacks the OPRF key; a plain hash would).
   *  Charged before the code goes to the verifier, so concurrent starts cannot exceed
   *  the budget; resolves with the function that gives the charge back when the code
   *  was not sent after all (true: given back; false: it stays, budgets.ts `refund`). */
  async chargeVerifyStart(e164: string): Promise<() => Promise<boolean>> {
    const tag = routeTag(await this.#relay.evaluator.routeForNumber(e164));
    const specs = [
      {
        key: `vs.${tag}`, n: 1, label: 'verify_start', fresh: (now: number): WindowRecord => ({ s: now, n: 0 }), limit: () => this.options.verifyStartsPerNumber,
        refusal: (limit: number) => `verification codes for this phone number used up (${limit} per 24 h)`,
      },
    ];
    const charged = await this.#budgets.charge(specs).catch((e: unknown) => this.#limited(e));
    return () => this.#budgets.refund(charged);
  }

  // ---------------------------------------------------------------- lookup

  /** The fixed-size answer for one route (empty device list = not registered). */
  /** `fromLeader`: the lookup's `fresh` (docs/PROTOCOL.md): read at the directory's
   *  leader, which has every device registered so far. Otherwise at the leader too while
   *  the bus doubts its copy (`leaderIfInDoubt`: a route cut's far replica still lists a
   *  device opted out meanwhile; the lookup fails UNAVAILABLE instead). */
  async lookupOne(route: Uint8Array, fromLeader = false): Promise<ReturnType<typeof paddedDevices>> {
    const devices = await this.#relay.directory.devices(routeTag(route), fromLeader ? FRESH_LOOKUP_READ : LOOKUP_READ);
    return paddedDevices(route, devices, this.#relay.limits.maxDevicesPerRoute);
  }

  // ---------------------------------------------------------------- notices

  /** After `device` registered on the route: every other device gets a "new_device"
   *  notice now if connected (control message) and, in any case, a flag in its
   *  directory record that its next authentication delivers (so offline ones see it). */
  async announceNewDevice(tag: string, device: Uint8Array, atMs: number): Promise<void> {
    const others: DirectoryDevice[] = [];
    await editDevices(this.#relay.bus, tag, (devices) => {
      others.length = 0;
      for (const d of devices) if (!bytesEqual(d.device, device)) others.push(d);
      if (others.length === 0) return null;
      return devices.map((d) => (bytesEqual(d.device, device) ? deviceProps(d) : { ...deviceProps(d), newDeviceNoticeAtMs: atMs }));
    });
    for (const d of others) {
      this.#notices.inc({ path: 'stored' });
      await this.#relay.bus.publishControl(tag, deviceToken(d.device), { kind: 'notice', notice: 'new_device', atMs })
        .catch(() => undefined); // the stored flag still reaches it
    }
  }

  /** A connected device was shown its notice: clear the flag (only that notice). */
  async noticeShown(tag: string, device: Uint8Array, atMs: number): Promise<void> {
    this.#notices.inc({ path: 'live' });
    await editDevices(this.#relay.bus, tag, (devices) => {
      const me = devices.find((d) => bytesEqual(d.device, device));
      if (!me || Number(me.newDeviceNoticeAtMs) === 0 || Number(me.newDeviceNoticeAtMs) > atMs) return null;
      return devices.map((d) => (d === me ? { ...deviceProps(d), newDeviceNoticeAtMs: 0 } : deviceProps(d)));
    });
  }

  /** Right after a device authenticated with its directory record `dev`: deliver a
   *  pending notice and refresh last_seen (at most once per lastSeenWriteEveryMs). The
   *  directory write when one is due (its outcome is not needed), else null. */
  onAuthenticated(s: PrivacySession, dev: DirectoryDevice): Promise<unknown> | null {
    // Every authentication comes here and nearly all need no write: that case returns
    // null (no promise) and reads no device key (an object and a byte copy).
    // A send-only connection shows nothing: the notice stays for the next receiving one.
    const notice = s.sendOnly === true ? 0 : Number(dev.newDeviceNoticeAtMs);
    if (notice > 0) s.notify('new_device', notice);
    const now = Date.now();
    this.#touchedAt.set(s, now);
    const stale = now - Number(dev.lastSeenMs) >= lastSeenWriteEveryMs(this.options);
    if (notice === 0 && !stale) return null;
    const key = s.deviceKey;
    if (key === null) return null;
    return editDevices(this.#relay.bus, key.tag, (devices) => {
      const me = devices.find((d) => bytesEqual(d.device, key.device));
      if (!me) return null;
      return devices.map((d) => (d === me
        ? { ...deviceProps(d), lastSeenMs: stale ? now : Number(d.lastSeenMs), newDeviceNoticeAtMs: Number(d.newDeviceNoticeAtMs) === notice ? 0 : Number(d.newDeviceNoticeAtMs) }
        : deviceProps(d)));
    });
  }

  // ---------------------------------------------------------------- unfinished registrations

  /** A register's directory write that may have landed (its answer lost) or did (a later
   *  step failed), on a connection that closed before the registration finished
   *  (relay/session.ts #eraseUnfinished): the device goes, as an idle expiry erases one,
   *  but only while the directory lists it exactly as that register wrote it (`wrote`:
   *  compare-and-set, so a registration of the same device finished meanwhile, or a
   *  device the handset went on to use, is kept). Its mailbox is erased too (a sender may
   *  have stored mail for it while it was listed), and the device's connections told it
   *  is unregistered. Never throws: the outcome is counted (and a failure logged) and the
   *  idle expiry removes what a failure leaves. Given up past `deadlineMs` (or at
   *  abortUnfinished()), short of the bus request under way. `writeUnknown`: a write of
   *  it got no answer (UNAVAILABLE, TIMEOUT: it may still be on its way to the stream),
   *  so a device found absent is looked for once more, LATE_WRITE_RECHECK_MS later. */
  async eraseUnfinished(tag: string, device: Uint8Array, wrote: (d: DirectoryDevice) => boolean, deadlineMs = UNFINISHED_DEADLINE_MS, writeUnknown = false): Promise<UnfinishedOutcome> {
    const signal = AbortSignal.any([this.#unfinishedStop.signal, AbortSignal.timeout(deadlineMs)]);
    let outcome = 'absent' as UnfinishedOutcome;
    const devTok = deviceToken(device);
    try {
      // Only a device listed as that register wrote it is removed, so only such a one is
      // announced (most of these writes never landed: an intent for each, followed by no
      // announcement, would be read for and counted on every gateway). The edit below
      // decides again, on its own reads.
      let listed = await this.#findAtLeader(tag, device, signal);
      signal.throwIfAborted();
      if (listed === null && writeUnknown) {
        // A write that timed out may land after this read: nats-server held it (stalled,
        // or busy) and answered the read first, or its stream had not applied it yet (a
        // replicated one waits for its followers). Found absent here, it would then stay
        // listed until the idle expiry (test/gateway/register-late-write.test.ts). So it is
        // looked for again once it can no longer land: the read above went out after it,
        // on the connection that carried it (or, after a loss of NATS, once reconnected:
        // a server that answers again has read what it held), so nats-server has it by
        // now. Given up (counted failed) should the gateway close or the deadline pass
        // meanwhile.
        await sleep(LATE_WRITE_RECHECK_MS, undefined, { signal });
        listed = await this.#findAtLeader(tag, device, signal);
        signal.throwIfAborted();
      }
      if (listed === null || !wrote(listed)) outcome = listed === null ? 'absent' : 'kept';
      // Announced as intended first, as an opt-out's removal is (relay/bus/unregistered.ts):
      // should this gateway die before the device's `unregistered`, the others read its
      // record themselves.
      else await announcedRemoval(this.#relay.bus, [{ tag, devTok }], async () => {
        await editDevices(this.#relay.bus, tag, (devices, lost) => {
          signal.throwIfAborted();
          const me = devices.find((d) => bytesEqual(d.device, device));
          if (me === undefined) {
            // After a removal whose answer was lost with the NATS connection, missing is
            // that removal landed: its mail is still to be erased.
            if (!(lost && outcome === 'removed')) outcome = 'absent';
            return null;
          }
          if (!wrote(me)) {
            outcome = 'kept';
            return null;
          }
          outcome = 'removed';
          const rest = devices.filter((d) => d !== me);
          // Revision-checked like every edit: a device registered on the route meanwhile
          // conflicts, and this is decided again on the new record.
          return rest.length === 0 ? DELETE_ENTRY : rest.map(deviceProps);
          // Read at the directory's leader: a replica behind the write would show it absent.
          // A removal in flight when NATS dropped is decided again once reconnected.
        }, { fromLeader: true }, true);
        if (outcome === 'removed') await this.#eraseMail(tag, devTok, signal);
      });
    } catch (e) {
      if (outcome !== 'removed') outcome = 'failed';
      this.#relay.log.warn({ err: toWireError(e).code, removed: outcome === 'removed' }, 'unfinished registration: its device could not be checked or erased; the idle expiry removes what is left');
    }
    this.#unfinished.inc({ outcome });
    return outcome;
  }

  /** `device` as the directory's leader lists it (null: not listed), read again every
   *  UNFINISHED_READ_RETRY_MS while the read fails (NATS stalled, lost or electing a
   *  leader) and `signal` lasts (eraseUnfinished's deadline, the gateway's close): a
   *  clean-up that gave up at the first failed read left a write that landed meanwhile
   *  listed until the idle expiry. */
  async #findAtLeader(tag: string, device: Uint8Array, signal: AbortSignal): Promise<DirectoryDevice | null> {
    for (;;) {
      try {
        return await this.#relay.directory.findDevice(tag, device, { fromLeader: true });
      } catch (e) {
        if (signal.aborted) throw e;
        try {
          await sleep(UNFINISHED_READ_RETRY_MS, undefined, { signal });
        } catch {
          throw e; // the deadline or the close: given up with the read's own error
        }
      }
    }
  }

  /** The mail of a device out of the directory, as an opt-out or expiry erases it, and its
   *  connections told (control message 'unregistered', announced to every gateway), also
   *  when the erase failed: the device is out of the directory all the same (before, a
   *  failed erase left its connections elsewhere untold). */
  async #eraseMail(tag: string, devTok: string, signal: AbortSignal): Promise<void> {
    const bus = this.#relay.bus;
    try {
      await withRetries(() => bus.mailboxPurge(tag, devTok), signal);
    } finally {
      await bus.publishControl(tag, devTok, { kind: 'unregistered' }).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- idle expiry

  /** Starts the periodic work: last_seen for long-lived connections and the idle sweep
   *  (which one gateway at a time runs, by a lease in the shared counters). */
  start(): void {
    if (this.#timers.length > 0 || this.#stopped) return;
    const touch = setInterval(() => { void this.#touchConnected(); }, lastSeenWriteEveryMs(this.options));
    const sweep = setInterval(() => { void this.sweepIfLeader(); }, idleSweepEveryMs(this.options));
    touch.unref();
    sweep.unref();
    this.#timers = [touch, sweep];
  }

  /** The removals of unfinished registrations under way give up (each counted `failed`
   *  once its bus request under way ends): the gateway's close, once it waited for them
   *  as long as it does (Relay.settleUnfinished). */
  abortUnfinished(): void {
    this.#unfinishedStop.abort();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#sweeping?.catch(() => undefined);
  }

  /** Writes last_seen for long-lived connections, one device at a time. stop() ends the
   *  pass: no further device is read, and the edit under way writes nothing (the bus is
   *  closing next; a read under way that fails then is not warned of). stop() does not
   *  wait for that read, which in a NATS outage could take its whole deadline. */
  async #touchConnected(): Promise<void> {
    // NATS lost: the writes would wait for the reconnect or fail; the pass runs once
    // reconnected instead (and stops at a loss, the rest left for then).
    if (!this.#busConnected()) return this.#touchOnceConnected();
    const losses = this.#losses();
    const now = Date.now();
    const every = lastSeenWriteEveryMs(this.options);
    for (const s of this.#relay.sessions() as Iterable<PrivacySession>) {
      if (this.#stopped) return;
      const key = s.deviceKey;
      if (!s.authenticated || key === null || now - (this.#touchedAt.get(s) ?? 0) < every) continue;
      this.#touchedAt.set(s, now);
      const ok = await editDevices(this.#relay.bus, key.tag, (devices) => {
        if (this.#stopped) return null;
        const me = devices.find((d) => bytesEqual(d.device, key.device));
        if (!me || now - Number(me.lastSeenMs) < every) return null;
        return devices.map((d) => (d === me ? { ...deviceProps(d), lastSeenMs: now } : deviceProps(d)));
      }).then(() => true, (e: unknown) => {
        if (this.#lostSince(losses)) return false;
        if (!this.#stopped) this.#relay.warnRepeated('last_seen update failed', { err: toWireError(e).code });
        return true;
      });
      if (!ok) {
        this.#touchedAt.delete(s);
        return this.#touchOnceConnected();
      }
    }
  }

  #touchOnceConnected(): void {
    if (this.#touchWaiting || this.#stopped) return;
    this.#touchWaiting = true;
    void this.#whenConnected().then((up) => {
      this.#touchWaiting = false;
      if (up) void this.#touchConnected();
    });
  }

  /** The bus's connection losses so far (0 where it cannot lose one: embedded). */
  #losses(): number {
    return this.#relay.bus.connectionLosses?.() ?? 0;
  }

  /** Not reconnecting to NATS (the one state in which waiting helps). */
  #busConnected(): boolean {
    return this.#relay.bus.status().state !== 'reconnecting';
  }

  /** The bus lost its connection since `losses` was read, or has none now. */
  #lostSince(losses: number): boolean {
    return this.#losses() !== losses || !this.#busConnected();
  }

  /** Resolves true once the bus is no longer reconnecting; false at stop() or once it
   *  is closed. Woken by the bus's reconnect (Bus.reconnected) where it says, else it
   *  looks every RECONNECT_POLL_MS. */
  async #whenConnected(): Promise<boolean> {
    const bus = this.#relay.bus;
    for (;;) {
      if (this.#stopped) return false;
      const state = bus.status().state;
      if (state === 'closed') return false;
      if (state !== 'reconnecting') return true;
      try {
        await (bus.reconnected !== undefined ? orAborted(bus.reconnected(), this.#stop.signal) : sleep(RECONNECT_POLL_MS, undefined, { signal: this.#stop.signal }));
      } catch {
        return false;
      }
    }
  }

  /** Runs a sweep when this gateway wins the lease for the current period. Resolves
   *  how many devices it erased (0 when another gateway holds the lease). With the
   *  connection to NATS lost (or lost while the lease is taken), the lease and the sweep
   *  wait for the reconnect and run then: before, the lease failed and the period went
   *  by without a sweep (docs/OPERATIONS.md, "NATS unreachable at start": later outages). */
  sweepIfLeader(now = Date.now()): Promise<number> {
    if (this.#sweeping !== null || this.#stopped) return Promise.resolve(0);
    this.#sweeping = this.#leaseThenSweep(now).finally(() => { this.#sweeping = null; });
    return this.#sweeping;
  }

  async #leaseThenSweep(now: number): Promise<number> {
    const bus = this.#relay.bus;
    const asked = Date.now();
    // Which lease is this call's (a random id, nothing else): a lease write lost with the
    // connection that landed reads as held, and is this call's to sweep under.
    const by = randomBytes(8).toString('hex');
    for (let attempt = 1; ; attempt++) {
      if (!this.#busConnected() && !(await this.#whenConnected())) return 0;
      const at = now + (Date.now() - asked);
      const losses = this.#losses();
      try {
        const rec = await bus.counterGet(SWEEP_LEASE_KEY);
        const held = rec === null ? null : JSON.parse(td.decode(rec.value)) as { until?: unknown; by?: unknown };
        const until = Number(held?.until) || 0;
        if (until > at && held?.by !== by) return 0;
        if (held?.by !== by) {
          const lease = te.encode(JSON.stringify({ until: at + Math.floor(idleSweepEveryMs(this.options) * 0.9), by }));
          if ((await bus.counterPut(SWEEP_LEASE_KEY, lease, rec === null ? 0 : rec.revision)) === null) return 0;
        }
      } catch (e) {
        // Lost with the connection (a lease write may have landed: the next attempt
        // reads it as this call's): once reconnected.
        if (attempt < SWEEP_RUNS && this.#lostSince(losses)) continue;
        this.#relay.log.warn({ err: toWireError(e).code }, 'idle sweep lease unavailable');
        return 0;
      }
      return this.#sweepRuns(at);
    }
  }

  /** Erases every device idle for longer than the expiry, like an opt-out: directory
   *  record, mailbox (erased), the route's entry and mailboxes when it was the last
   *  device. Safe to run on several gateways at once: each step is idempotent. */
  sweep(now = Date.now()): Promise<number> {
    this.#sweeping ??= this.#sweepRuns(now).finally(() => { this.#sweeping = null; });
    return this.#sweeping;
  }

  /** The sweep, run again once reconnected when the bus lost its connection to NATS
   *  during it (what failed then is not the routes' fault, and what succeeded may have
   *  missed keys or mail the listing would have given: every step is idempotent), at
   *  most SWEEP_RUNS times. A sweep stops at the first step that fails with the
   *  connection lost, instead of failing every route left and skipping the rest. */
  async #sweepRuns(now: number): Promise<number> {
    const started = Date.now();
    let erased = 0;
    for (let run = 1; ; run++) {
      const r = await this.#sweep(now + (Date.now() - started));
      erased += r.erased;
      if (!r.interrupted || this.#stopped) return erased;
      if (run >= SWEEP_RUNS) {
        this.#relay.log.warn({ runs: run }, 'idle sweep: interrupted by a loss of the NATS connection each time; the next period\'s sweep does the rest');
        return erased;
      }
      this.#relay.log.info({ run }, 'idle sweep interrupted by a loss of the NATS connection; it runs again once reconnected');
      if (!(await this.#whenConnected())) return erased;
    }
  }

  async #sweep(now: number): Promise<{ erased: number; interrupted: boolean }> {
    const relay = this.#relay;
    const cutoff = now - this.options.deviceIdleExpiryMs;
    const losses = this.#losses();
    let erased = 0;
    let interrupted = false;
    // A listing that fails halfway (Bus.directoryKeys: NATS delivered no key within the
    // request deadline, after once more when that deadline fired late with the event
    // loop held, relay/bus/late-timer.ts) ends this run: the routes listed so far were
    // processed, the rest were not. Nothing is skipped for good: with the connection lost
    // meanwhile the run is made again once reconnected (#sweepRuns); otherwise the warn
    // 'idle sweep stopped' says so, and the next period's sweep (at most an hour later:
    // idleSweepEveryMs) lists every key from the start. So a device due for erasure is
    // erased by the next pass at the latest (the next whose listing reaches its end;
    // each idempotent step of this one that went through stays done). The orphan
    // mailbox pass still runs: it walks the mailboxes, not this listing.
    try {
      for await (const tag of relay.bus.directoryKeys()) {
        if (this.#stopped) break;
        erased += await this.#expireRoute(tag, cutoff).catch((e: unknown) => {
          if (this.#lostSince(losses)) interrupted = true;
          else relay.log.warn({ err: toWireError(e).code }, 'idle sweep: a route could not be processed');
          return 0;
        });
        if (interrupted) break;
      }
    } catch (e) {
      if (this.#lostSince(losses)) interrupted = true;
      else relay.log.warn({ err: toWireError(e).code }, 'idle sweep stopped');
    }
    if (erased > 0) relay.log.info({ devices: erased }, 'idle sweep erased devices');
    if (!this.#stopped && !interrupted) {
      const orphans = await this.#eraseOrphans(losses).catch((e: unknown) => {
        if (this.#lostSince(losses)) interrupted = true;
        else relay.log.warn({ err: toWireError(e).code }, 'orphan mailbox sweep stopped');
        return { erased: 0, interrupted: false };
      });
      interrupted ||= orphans.interrupted;
      if (orphans.erased > 0) relay.log.info({ mailboxes: orphans.erased }, 'sweep erased orphaned mailboxes');
    }
    return { erased, interrupted: interrupted || this.#lostSince(losses) };
  }

  /** Erases every mailbox whose device is not in the directory: mail an opt-out or an
   *  expiry could not erase (its purge failed after the device left the directory, and
   *  nothing else would ever find it), or mail a sender stored just behind the erase.
   *  Part of each sweep; returns how many mailboxes it erased. A device must be absent
   *  twice, the second time as the directory's leader sees it, right before its mail
   *  goes: a device registered a moment ago (on a lagging replica's view) keeps its mail. */
  async eraseOrphanMailboxes(): Promise<number> {
    return (await this.#eraseOrphans(this.#losses())).erased;
  }

  /** eraseOrphanMailboxes; stops at a step that fails with the connection to NATS lost
   *  since `losses` (interrupted: the sweep runs again once reconnected). */
  async #eraseOrphans(losses: number): Promise<{ erased: number; interrupted: boolean }> {
    const relay = this.#relay;
    const tokensOf = async (tag: string, fromLeader: boolean): Promise<Set<string>> =>
      new Set((await relay.directory.devices(tag, { fromLeader })).map((d) => deviceToken(d.device)));
    // The devices of the routes seen last, so a route with several mailboxes is read once.
    const known = new Map<string, Set<string>>();
    let erased = 0;
    let failed = 0;
    let lastError: unknown = null;
    let interrupted = false;
    for await (const { routeTag: tag, deviceToken: devTok } of relay.bus.mailboxOwners()) {
      if (this.#stopped) break;
      try {
        let present = known.get(tag);
        if (present === undefined) {
          if (known.size >= 1024) known.clear();
          present = await tokensOf(tag, false);
          known.set(tag, present);
        }
        if (present.has(devTok)) continue;
        if ((await tokensOf(tag, true)).has(devTok)) {
          known.delete(tag);
          continue;
        }
        await withRetries(() => relay.bus.mailboxPurge(tag, devTok), this.#stop.signal);
        this.#orphans.inc();
        erased++;
      } catch (e) {
        if (this.#lostSince(losses)) {
          interrupted = true;
          break;
        }
        // one mailbox that cannot be checked or erased now: the next sweep tries again
        failed++;
        lastError = e;
      }
    }
    if (failed > 0) relay.log.warn({ mailboxes: failed, err: toWireError(lastError).code }, 'orphan mailbox sweep: some mailboxes could not be checked or erased');
    return { erased, interrupted };
  }

  /**
   * A route's entry that lists no devices is a removal cut short: Bus.directoryDelete
   * writes an empty revision (compare-and-set) and then erases it, and when the erase is
   * lost with a connection to NATS that stays lost past the bus's outage grace, the
   * re-read that would finish it (Directory.removeDevice, editDevices' retryLost) fails
   * too. The opt-out is then answered UNAVAILABLE with its device already out of the
   * directory (its retry can no longer authenticate); an idle expiry or an unfinished
   * registration's removal fails the same way. Nothing else comes back for such an entry
   * (no device of it is ever idle), so the sweep erases it, revision-checked (a device
   * registered on the route meanwhile keeps it), and its devices' mail goes with the
   * orphan pass: the erasure completes by the next sweep at the latest
   * (test/faults/nats-erase-outage.test.ts). No device counted: they left already.
   */
  async #eraseEmptyEntry(tag: string): Promise<number> {
    const erased = await editDevices(this.#relay.bus, tag, (devices) => (devices.length === 0 ? DELETE_ENTRY : null), {}, true);
    if (erased) this.#relay.log.info('idle sweep: erased a route entry that listed no devices (a removal cut short by a loss of NATS)');
    return 0;
  }

  async #expireRoute(tag: string, cutoff: number): Promise<number> {
    const bus = this.#relay.bus;
    const idleNow = (d: DirectoryDevice): boolean => Math.max(Number(d.lastSeenMs), Number(d.registeredAtMs)) < cutoff;
    // The idle devices are found first, and their removal announced to every gateway as
    // intended before it is made, as an opt-out's is (relay/bus/unregistered.ts): should
    // this gateway die between the removal and the devices' `unregistered`, the others
    // read their records themselves. Only those announced go (one that became idle
    // between the two reads goes at the next sweep).
    const listed = await this.#relay.directory.devices(tag);
    if (listed.length === 0) return this.#eraseEmptyEntry(tag);
    const candidates = listed.filter(idleNow);
    if (candidates.length === 0) return 0;
    const announced = new Set(candidates.map((d) => deviceToken(d.device)));
    const idle = (d: DirectoryDevice): boolean => idleNow(d) && announced.has(deviceToken(d.device));
    return announcedRemoval(bus, [...announced].map((devTok) => ({ tag, devTok })), async () => {
      let stale: DirectoryDevice[] = [];
      const wrote = await editDevices(bus, tag, (devices, lost) => {
        const idleHere = devices.filter(idle);
        // Decided again after a removal whose answer was lost with the NATS connection:
        // the devices it removed that are missing now are out (that removal landed, or
        // another's), and their mail still to be erased.
        stale = lost ? [...stale.filter((s) => !devices.some((d) => bytesEqual(d.device, s.device))), ...idleHere] : idleHere;
        // Every device idle (or none left): the whole entry goes, revision-checked, so a
        // device registered on the route meanwhile is kept (and this is decided again).
        if (idleHere.length === devices.length) return DELETE_ENTRY;
        if (idleHere.length === 0) return null; // nothing (more) to do
        return devices.filter((d) => !idle(d)).map(deviceProps);
      }, {}, true);
      if (stale.length === 0) return 0;
      if (!wrote) return 0;
      // Out of the directory first (no new mail can be stored for them from here on), and
      // counted now: from here they can neither authenticate nor be found.
      this.#expired.inc(stale.length);
      for (const d of stale) await this.#eraseMail(tag, deviceToken(d.device), this.#stop.signal);
      // Only the expired devices' mailboxes, not the route's: a device registered on it
      // right after the entry went may already have mail. Mail of devices that left the
      // directory earlier is the orphan sweep's.
      return stale.length;
    });
  }
}

/** Erasing mail of devices already out of the directory: no later sweep finds them
 *  again, so a purge that fails (NATS reconnecting, a stream leader election) is tried
 *  again here, three times over ~3 s, before the sweep gives up on it (logged; the
 *  mail then goes at the mailbox's max age). stop() (the gateway closing, which waits
 *  for the sweep under way) ends the wait between attempts at once: the erase is then
 *  given up, as after the third. */
async function withRetries(fn: () => Promise<void>, stopped: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 3 || stopped.aborted) throw e;
      try {
        await sleep(500 * attempt * attempt, undefined, { signal: stopped });
      } catch {
        throw e; // stopped while waiting
      }
    }
  }
}

/** `p`, or a rejection as soon as `signal` aborts (stop()); the listener goes with `p`. */
function orAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}
