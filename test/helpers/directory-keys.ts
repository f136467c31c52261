// A NATS bus whose directory holds many keys, for the tests of its listing
// (Bus.directoryKeys, which the idle sweep walks): test/bus/directory-keys-stall.test.ts,
// test/bus/directory-keys-late.test.ts.
import { randomBytes } from 'node:crypto';
import { NatsBus } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS } from '../bus/contract.ts';
import type { NatsServerHandle } from './nats-server.ts';

/** A NatsBus on `server` (NATS prefix `prefix`, one mailbox shard, `requestTimeoutMs`,
 *  no log), started and closed at `t`'s teardown, with `keys` directory entries of random
 *  names put through it, 1,000 at a time. */
export async function busWithDirectoryKeys(t: { teardown(fn: () => unknown): void }, server: NatsServerHandle, prefix: string, requestTimeoutMs: number, keys: number): Promise<NatsBus> {
  const bus = new NatsBus({
    servers: server.url, limits: CONTRACT_LIMITS, prefix, mailboxShards: 1, name: 'hushwire-test',
    requestTimeoutMs, log: () => undefined,
  });
  t.teardown(() => bus.close());
  await bus.start();
  const value = new Uint8Array([1]);
  for (let i = 0; i < keys; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, () => bus.directoryPut(randomBytes(16).toString('hex'), value, 0)));
  }
  return bus;
}
