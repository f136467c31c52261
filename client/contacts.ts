// Contact discovery in bulk (a first contact sync): which of these numbers use
// Hushwire? The numbers never leave the handset: they are VOPRF-blinded, evaluated in
// batches (every proof checked against the pinned key), finalized into routes here, and
// the routes are looked up in batches whose answers all have one fixed size, so neither
// the gateway nor the network learns the numbers, and the network does not learn which
// of them are registered. The gateway charges each evaluated number to this device's
// discovery budget (docs/PRIVACY.md): a first full sync fits in the first day's budget;
// afterwards only new contacts should be asked about, so callers keep the answers.
import { blindNumbers, routeFromOutput } from '../relay/crypto/oprf.ts';
import { finalizeNumberEvaluation } from '../relay/crypto/oprf-split.ts';
import { parseE164 } from '../relay/number.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ROUTE_BYTES, type OpProps } from '../relay/wire.ts';
import { verifyListed, type VerifiedDevice } from './discovery.ts';
import type { OpBuilder } from './connection-core.ts';

export type Requester = (op: OpBuilder, timeoutMs?: number) => Promise<OpProps>;

/** Per-op sizes the gateway accepts (evaluate: limits.maxEvaluateBatch; lookup:
 *  privacy lookupBatchMax). */
export const EVALUATE_CHUNK = 500;
export const LOOKUP_CHUNK = 128;
/** One discover() call at most: a bound on the work and the memory it takes. */
export const MAX_DISCOVER = 10_000;

export interface ContactStatus {
  /** Registered with at least one device whose prekey signature verifies. */
  registered: boolean;
  /** How many such devices. */
  devices: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Told of each registered number found, with its proven route and verified devices
 *  (the client keeps the route and the devices' keys: client/routes.ts, client/keybook.ts). */
export type FoundContact = (number: string, route: Uint8Array, devices: VerifiedDevice[]) => void;

/** number (E.164, as given after normalisation) -> status, for every distinct number. */
export async function discoverContacts(request: Requester, pinnedKey: Uint8Array, numbers: readonly string[], onFound?: FoundContact): Promise<Map<string, ContactStatus>> {
  const unique = [...new Set(numbers.map((n) => parseE164(n)))];
  if (unique.length > MAX_DISCOVER) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `at most ${MAX_DISCOVER} numbers per discovery`);
  }
  const routes: Uint8Array[] = [];
  let size = EVALUATE_CHUNK;
  for (let i = 0; i < unique.length;) {
    const chunk = unique.slice(i, i + size);
    const { blinds, blinded } = blindNumbers(chunk);
    let op: OpProps;
    try {
      op = await request({ evaluate: { blinded } });
    } catch (e) {
      // A deployment whose OPRF evaluator takes smaller batches (its --max-batch):
      // TOO_LARGE, nothing charged, so the same numbers go again in halves (and the
      // rest of the call in batches of the size that passed).
      if (e instanceof HushwireError && e.code === ErrorCode.TOO_LARGE && chunk.length > 1) {
        size = Math.ceil(chunk.length / 2);
        continue;
      }
      throw e;
    }
    // Throws AUTH_FAILED when a proof does not hold against the pinned key.
    const outputs = finalizeNumberEvaluation(chunk, blinds, blinded, op.evaluated, pinnedKey);
    for (const o of outputs) routes.push(routeFromOutput(o));
    i += chunk.length;
  }
  const out = new Map<string, ContactStatus>();
  for (let i = 0; i < routes.length; i += LOOKUP_CHUNK) {
    const chunk = routes.slice(i, i + LOOKUP_CHUNK);
    const op = await request({ lookup: { routes: chunk } });
    const results = op.devicesBatch?.results ?? [];
    if (results.length !== chunk.length) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway answered a batched lookup with the wrong number of results');
    }
    results.forEach((r, j) => {
      const route = chunk[j]!;
      if (!r.route || r.route.length !== ROUTE_BYTES || !equalBytes(r.route, route)) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway answered a lookup for another route');
      }
      const ok = verifyListed(r.devices ?? []);
      out.set(unique[i + j]!, { registered: ok.length > 0, devices: ok.length });
      if (ok.length > 0) onFound?.(unique[i + j]!, route, ok);
    });
  }
  return out;
}
