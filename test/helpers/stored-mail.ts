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

/** Rotates the prekey of the profile in `a` (registered to `A`) at t0, its clock then,
 *  between two messages `b` sends to A while A is offline: 'before', sealed to the prekey
 *  now retired, and 'after', sealed to the new one. Returns t0. */
export async function rotateBetweenStored(gw: TestGateway, a: MemoryStore, b: MemoryStore, A: string): Promise<number> {
  await sendStored(b, gw, A, 'before');
  const t0 = Date.now();
  const rotator = await HushwireClient.open(a, { receive: false, clock: () => t0 });
  try {
    await rotator.connect();
    await rotator.rotatePrekey();
  } finally {
    await rotator.close();
  }
  await sendStored(b, gw, A, 'after');
  return t0;
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
