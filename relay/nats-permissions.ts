// What NATS refuses this process's user (its permissions: docs/OPERATIONS.md, "NATS
// permissions", and docs/nats/), told apart from an outage.
//
// nats-server answers a publish or subscription the user may not make with
// `-ERR 'Permissions Violation for Publish to "<subject>"'` (or "Subscription to") and
// drops it; the connection stays up. nats.js turns that into a PermissionViolationError:
// it rejects a request() whose subject (or whose reply inbox) was refused, closes a
// refused subscription with it, and reports every one as an 'error' status. A request the
// bus sends on its own inbox (relay/bus/nats-requests.ts) just times out. So a gateway
// missing a right would look like a slow JetStream, or (a refused device subscription)
// quietly stop receiving live deliveries. Here: the first violation seen while a process
// starts stops it, naming what was refused; later ones are logged, once per subject shape.
//
// Subjects are reported by their shape: route tags, device tokens, node ids and inbox
// ids (and anything after an inbox prefix) become `*`, so no route or device id reaches
// a log line or an error message.
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsRefused } from './nats-connect.ts';

/** What nats.js reports for a refused publish or subscription. */
export interface PermissionViolation {
  operation: 'publish' | 'subscription';
  subject: string;
}

/** e (or the error it wraps) is nats.js's PermissionViolationError. */
export function permissionViolation(e: unknown): PermissionViolation | null {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 4; x = x.cause, depth++) {
    if (x.name === 'PermissionViolationError') {
      const v = x as Error & { operation?: unknown; subject?: unknown };
      return {
        operation: v.operation === 'subscription' ? 'subscription' : 'publish',
        subject: typeof v.subject === 'string' ? v.subject : '',
      };
    }
  }
  return null;
}

const ID_TOKEN = /^(?:[0-9a-f]{16,}|[A-Za-z0-9]{22})$/; // route tag, device token, node id, nuid

/** The subject with every identifier replaced by `*` (see the header). */
export function subjectShape(subject: string): string {
  if (subject === '') return '(a subject)';
  const tokens = subject.split('.');
  const first = tokens[0] ?? '';
  // Everything after an inbox prefix is an id of this process or of its requests.
  if (first.startsWith('_INBOX')) return tokens.length > 1 ? `${first}.>` : first;
  const shape = tokens.map((t) => (ID_TOKEN.test(t) ? '*' : t)).join('.');
  return shape.length > 200 ? `${shape.slice(0, 200)}...` : shape;
}

/** The user's credentials, for messages: the flag that names the NATS user. */
function userOf(authBy: string | undefined): string {
  if (authBy === undefined) return 'the NATS user this process connects as (no credentials given: the server\'s default user)';
  if (authBy === '--nats-password-file') return 'the NATS user of --nats-user';
  return `the NATS user of ${authBy}`;
}

/** One line naming what NATS refused, for the operator. */
export function describeViolation(v: PermissionViolation, authBy?: string): string {
  const verb = v.operation === 'subscription' ? 'subscribe to' : 'publish to';
  return `NATS refused permission to ${verb} ${subjectShape(v.subject)} (permissions violation): ${userOf(authBy)} needs it (docs/OPERATIONS.md, "NATS permissions")`;
}

/** A violation as the refusal that stops a process at start (exit 1). */
export function permissionRefusal(v: PermissionViolation, authBy: string | undefined, cause?: unknown): NatsRefused {
  return new NatsRefused(authBy === '--nats-password-file' ? '--nats-user' : authBy ?? '--nats-user', describeViolation(v, authBy), cause);
}

/** Records the permission violations a connection reports (its 'error' statuses). */
export class PermissionWatch {
  first: PermissionViolation | null = null;
  readonly #iter: AsyncIterable<{ type: string; error?: unknown }> & { stop?: () => void };

  constructor(nc: NatsConnection, onViolation?: (v: PermissionViolation) => void) {
    const iter = nc.status() as unknown as AsyncIterable<{ type: string; error?: unknown }> & { stop?: () => void };
    this.#iter = iter;
    void (async () => {
      for await (const s of iter) {
        if (s.type !== 'error') continue;
        const v = permissionViolation(s.error);
        if (v === null) continue;
        this.first ??= v;
        onViolation?.(v);
      }
    })().catch(() => undefined);
  }

  stop(): void {
    this.#iter.stop?.();
  }
}

/**
 * Subscribes to each of `subscribe` and publishes an empty message (no reply subject) to
 * each of `publish`, then waits for nats-server's PONG: a refusal is answered before it.
 * Returns the first violation, or null. Callers pick subjects where this is harmless
 * (nobody subscribes them, or subscribers ignore an empty message without a reply).
 * A PONG that does not come within `timeoutMs` returns null: an outage is not a refusal.
 */
export async function probePermissions(nc: NatsConnection, probe: { publish?: string[]; subscribe?: string[] }, timeoutMs: number): Promise<PermissionViolation | null> {
  const watch = new PermissionWatch(nc);
  let refused: PermissionViolation | null = null;
  const subs = (probe.subscribe ?? []).map((s) => nc.subscribe(s, {
    callback: (err) => { if (err !== null) refused ??= permissionViolation(err); },
  }));
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const p of probe.publish ?? []) nc.publish(p);
    await Promise.race([
      nc.flush().catch(() => undefined),
      new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); }),
    ]);
    // The status iterator delivers asynchronously: let it catch up with the PONG.
    await new Promise((r) => setImmediate(r));
    return refused ?? watch.first;
  } finally {
    clearTimeout(timer);
    watch.stop();
    for (const s of subs) {
      try { s.unsubscribe(); } catch { /* closed */ }
    }
  }
}

/** A reply-subject prefix (--nats-inbox-prefix): NATS subject tokens without wildcards. */
export const INBOX_PREFIX_RE = /^(?=.{1,64}$)[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$/;
export const INBOX_PREFIX_PROBLEM = 'FLAG must be 1-64 characters of NATS subject tokens (letters, digits, _, -, $, separated by dots; no wildcards), e.g. _INBOX_hw_gw';
