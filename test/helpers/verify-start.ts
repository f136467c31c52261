// verify_start as the opt-in tests drive it with the raw protocol, and the number's
// verification budget it charges (relay/session.ts: a counter per route tag, shared by
// every gateway on the bus).
import { connectRaw } from './raw.ts';
import type { TestGateway } from './gateway.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { DecodedOp } from '../../relay/wire.ts';

/** verify_start for `number` (req 1) on a fresh socket at `url`, after its challenge: the
 *  answer. The socket is closed then. */
export async function verifyStart(url: string, number: string): Promise<DecodedOp> {
  const c = await connectRaw(url);
  await c.next((o) => o.body === 'challenge');
  c.send([{ req: 1, verifyStart: { number } }]);
  const r = await c.reply(1);
  c.close();
  return r;
}

/** The number's verify_start charges over all gateways (the shared counter), as `gw`'s
 *  bus reads it: 0 when none was made. */
export async function verifyStartCharges(gw: TestGateway, number: string): Promise<number> {
  const rec = await gw.bus.counterGet(`vs.${routeTag(await gw.relay.evaluator.routeForNumber(number))}`);
  return rec === null ? 0 : (JSON.parse(new TextDecoder().decode(rec.value)) as { n: number }).n;
}
