// Hooks on an in-process gateway's bus for race tests: a bus call held at a gate, so a
// test lets another operation happen exactly in between; a NATS bus whose counter writes
// lose their answer after landing; directory writes that fail, or land and lose their
// answer; device subscriptions that fail; something done at the first directory write (a
// CLI signalled right then).
import type { Test } from 'tap';
import type { TestGateway } from './gateway.ts';
import { startNatsServer } from './nats-server.ts';
import { NatsBus, DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import type { Bus } from '../../relay/bus/bus.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

/** A NATS bus whose next `lose` counter writes lose their answer: the write lands, and
 *  the bus tries it once more (as NatsBus does after a fast failure), which meets the
 *  landed write as a conflict (null). */
export class LostAnswers extends NatsBus {
  lose = 0;
  override async counterPut(key: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    const rev = await super.counterPut(key, value, expectedRevision);
    if (rev === null || this.lose === 0) return rev;
    this.lose--;
    return super.counterPut(key, value, expectedRevision);
  }
}

/** A started LostAnswers bus (subjects under `prefix`, one mailbox shard, no logs) on a
 *  nats-server of its own, both stopped at the test's end: the counter tests that lose
 *  answers all start so. */
export async function lostAnswersBus(t: Test, prefix: string): Promise<LostAnswers> {
  const server = await startNatsServer({ t });
  const bus = new LostAnswers({ servers: server.url, limits: DEFAULT_MAILBOX_LIMITS, prefix, mailboxShards: 1, name: 'hushwire-test', log: () => undefined });
  t.teardown(() => bus.close());
  await bus.start();
  return bus;
}

/** Directory writes of `bus` failing on demand, as the NATS bus fails them
 *  (UNAVAILABLE 'directory unavailable'): the next `fail` writes fail without writing
 *  (the bus unreachable), the next `lose` land and then fail (the answer lost in transit:
 *  the request timed out after nats-server applied it). Unhooked at the test's end. */
export function failDirectoryWrites(t: Test, bus: Bus): { fail: number; lose: number } {
  const hook = { fail: 0, lose: 0 };
  const original = bus.directoryPut.bind(bus);
  const unavailable = (): HushwireError => new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable');
  bus.directoryPut = async (tag: string, value: Uint8Array, expectedRevision: number): Promise<number | null> => {
    if (hook.fail > 0) {
      hook.fail--;
      throw unavailable();
    }
    const rev = await original(tag, value, expectedRevision);
    if (rev !== null && hook.lose > 0) {
      hook.lose--;
      throw unavailable();
    }
    return rev;
  };
  t.teardown(() => { bus.directoryPut = original; });
  return hook;
}

/** Holds `gw`'s first subscribeDevice of the device (route tag `tag`, device token
 *  `tok`) until release(); `entered` resolves once it waits. Released and unhooked at the
 *  test's end. */
export function holdSubscribe(t: Test, gw: TestGateway, tag: string, tok: string): { entered: Promise<void>; release: () => void } {
  const bus = gw.bus;
  const original = bus.subscribeDevice.bind(bus);
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((r) => { enter = r; });
  const gate = new Promise<void>((r) => { release = r; });
  let held = false;
  bus.subscribeDevice = async (...args: Parameters<typeof original>) => {
    if (!held && args[0] === tag && args[1] === tok) {
      held = true;
      enter();
      await gate;
    }
    return original(...args);
  };
  t.teardown(() => { release(); bus.subscribeDevice = original; });
  return { entered, release };
}

/** `bus`'s next `fail` subscribeDevice calls fail without subscribing, as the NATS bus
 *  fails one it cannot confirm (UNAVAILABLE 'cannot subscribe': NATS lost). Unhooked at the
 *  test's end. */
export function failSubscribe(t: Test, bus: Bus): { fail: number } {
  const hook = { fail: 0 };
  const original = bus.subscribeDevice.bind(bus);
  bus.subscribeDevice = async (...args: Parameters<typeof original>) => {
    if (hook.fail > 0) {
      hook.fail--;
      throw new HushwireError(ErrorCode.UNAVAILABLE, 'cannot subscribe');
    }
    return original(...args);
  };
  t.teardown(() => { bus.subscribeDevice = original; });
  return hook;
}

/** Runs `during` at the first call of `bus`'s `method` (a directory write or erase),
 *  that call going on only once `during` has settled: the CLI signal tests signal the
 *  command there, while the relay writes for it, and hold the write until it reacted.
 *  `hooked` says whether that call came. Unhooked at the test's end. */
export function atFirstCall(t: Test, bus: Bus, method: 'directoryPut' | 'directoryDelete', during: () => Promise<unknown>): { hooked: boolean } {
  const state = { hooked: false };
  const slot = bus as unknown as Record<typeof method, (...args: unknown[]) => Promise<unknown>>;
  const original = slot[method];
  slot[method] = async (...args: unknown[]) => {
    if (!state.hooked) {
      state.hooked = true;
      await during();
    }
    return original.apply(bus, args);
  };
  t.teardown(() => { slot[method] = original; });
  return state;
}

/** `gw` dies right after its next removal of a route's directory entry lands (the
 *  route's last device leaving: an opt-out's Directory.removeDevice, the idle expiry's or
 *  an unfinished registration's edit, all through Bus.directoryDelete): its NATS
 *  connection is closed for good and the delete never returns, so nothing it would
 *  publish after it (the device's `unregistered`, its announcement) ever goes out, as
 *  when the process crashes there. `crashed` resolves once it has; `end()` (also at the
 *  test's end) fails the frozen delete, so that what waits for it (a sweep a gateway's
 *  close waits for) ends, and undoes the hook. */
export function crashAfterRemoval(t: Test, gw: TestGateway): { crashed: Promise<void>; end: () => void } {
  const bus = gw.bus;
  const original = bus.directoryDelete.bind(bus);
  let crash!: () => void;
  const crashed = new Promise<void>((r) => { crash = r; });
  let fail!: (e: Error) => void;
  const frozen = new Promise<never>((_, reject) => { fail = reject; });
  frozen.catch(() => undefined);
  let done = false;
  bus.directoryDelete = async (tag: string, expectedRevision?: number) => {
    if (done) return original(tag, expectedRevision);
    done = true;
    await original(tag, expectedRevision);
    await bus.close();
    crash();
    return frozen;
  };
  const end = (): void => {
    fail(new HushwireError(ErrorCode.UNAVAILABLE, 'gateway gone'));
    bus.directoryDelete = original;
  };
  t.teardown(end);
  return { crashed, end };
}
