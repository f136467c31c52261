// Mail stored for an offline device and read back with the SDK: the steps of the prekey
// tests (rotation, retention by the told mailbox age), which seal to one prekey, change
// the keys, then see what still opens.
import { HushwireClient, type MemoryStore } from '../../client/index.ts';
import type { TestGateway } from './gateway.ts';
import { until, within } from './poll.ts';

/** Sends `text` to `to` from the profile in `store` and checks the relay stored it (the
 *  recipient is offline), so it is sealed to the prekey the directory lists now. */
export async function sendStored(store: MemoryStore, gw: TestGateway, to: string, text: string): Promise<void> {
  const c = await HushwireClient.open(store, { gateways: [gw.url], receive: false });
  try {
    const r = await c.send(to, text);
    if (r.receipts.some((x) => x.status !== 'stored')) throw new Error(`expected stored: ${JSON.stringify(r.receipts)}`);
  } finally {
    await c.close();
  }
}

/** Opens the profile in `store` (with `opts`) and reads until `n` messages arrived or
 *  were dropped; returns the open client (the caller closes it), the texts sorted and the
 *  drop reasons. Each wait has a deadline. */
export async function readAll(store: MemoryStore, gw: TestGateway, n: number, opts: Parameters<typeof HushwireClient.open>[1] = {}) {
  const dropped: string[] = [];
  const texts: string[] = [];
  const c = await HushwireClient.open(store, { gateways: [gw.url], onDropped: (r) => dropped.push(r), ...opts });
  await c.connect();
  const it = c.messages()[Symbol.asyncIterator]();
  while (texts.length + dropped.length < n) {
    const got = await within(Promise.race([it.next(), until('a drop', () => texts.length + dropped.length >= n, 15_000).then(() => null)]), 20_000, 'a message or a drop');
    if (got && !got.done) texts.push(got.value.text);
  }
  return { c, texts: texts.sort(), dropped };
}
