// Two handsets whose profiles are stores the test holds (a MemoryStore, or a subclass
// that counts, holds or fails writes) registered at an in-process gateway: the start
// the SDK's store and inbox tests each wrote again.
import type { Test } from 'tap';
import { HushwireClient, type ProfileStore } from '../../client/index.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';

/** Registers `a` under numbers[0] and `b` under numbers[1] at the gateway `url`. */
export async function registerStores<A extends ProfileStore, B extends ProfileStore>(url: string, a: A, b: B, numbers: readonly [string, string]): Promise<{ A: string; B: string; a: A; b: B }> {
  const [A, B] = numbers;
  await HushwireClient.register({ store: a, gateways: [url], number: A });
  await HushwireClient.register({ store: b, gateways: [url], number: B });
  return { A, B, a, b };
}

/** A gateway whose live wait is 300 ms (a message its reader does not take is stored,
 *  then handed over again, soon), `a` and `b` registered at it (registerStores), and `a`
 *  opened and connected as the sender; the gateway and the sender closed at the test's
 *  end. */
export async function storesWithSender<A extends ProfileStore, B extends ProfileStore>(t: Test, a: A, b: B, numbers: readonly [string, string]): Promise<{ gw: TestGateway; A: string; B: string; a: A; b: B; sender: HushwireClient }> {
  const gw = await startTestGateway({ logLevel: 'warn', liveTimeoutMs: 300 });
  t.teardown(() => gw.close());
  const pair = await registerStores(gw.url, a, b, numbers);
  const sender = await HushwireClient.open(a);
  t.teardown(() => sender.close());
  await sender.connect();
  return { gw, ...pair, sender };
}
