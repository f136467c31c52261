// Picks the bus: NatsBus when a NATS URL is configured, else the embedded MemoryBus.
import type { Bus, MailboxLimits } from './bus.ts';
import type { BusLogFn } from './common.ts';
import { MemoryBus } from './memory.ts';
import { NatsBus, type NatsBusOptions } from './nats.ts';
import type { NatsAccess } from '../nats-connect-options.ts';

export type { Bus, BusStatus, ControlHandler, ControlMessage, ControlSink, DeviceSubscription, DirectoryRecord, LiveHandler, LiveSink, MailboxItem, MailboxLimits } from './bus.ts';
export type { BusLogFn } from './common.ts';
export { DIRECTORY_MAX_VALUE_BYTES, MAX_READ_BATCH, MAX_DELETE_BATCH, DEDUP_WINDOW_MS } from './common.ts';
export { MemoryBus } from './memory.ts';
export { NatsBus, type NatsBusOptions } from './nats.ts';

/** 1000 messages per device, 30 days, 70,000 bytes per envelope. */
export const DEFAULT_MAILBOX_LIMITS: Readonly<MailboxLimits> = Object.freeze({
  maxMessagesPerDevice: 1000,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
  maxMessageBytes: 70_000,
});

export interface CreateBusOptions {
  /** NATS server URL(s); empty/absent = embedded single-node bus. */
  nats?: string | string[];
  limits: MailboxLimits;
  /** NATS subject prefix (default 'hw'). */
  prefix?: string;
  /** Prefix of the bus's reply subjects (default _INBOX). */
  inboxPrefix?: string;
  /** Connection name for NATS. */
  name?: string;
  log?: BusLogFn;
  /** NATS: key of the Nats-Msg-Id HMAC shared by all gateways (relay/bus/nats-privacy.ts). */
  msgIdKey?: Uint8Array;
  /** NATS: JetStream replicas of the mailbox stream and the KV buckets (default 1). */
  replicas?: number;
  /** NATS: mailbox streams (default DEFAULT_MAILBOX_SHARDS in nats.ts). */
  mailboxShards?: number;
  /** NATS: also lower existing mailbox streams' limits to `limits` (--mailbox-lower-limits). */
  lowerLimits?: boolean;
  /** NATS: servers, TLS and credentials read from the settings (relay/nats-connect-options.ts). */
  access?: NatsAccess;
  /** NATS, tests only (no setting): the JetStream request pool's size and reserve, the
   *  request deadline and the outage grace (NatsBusOptions). */
  requestPool?: NatsBusOptions['requestPool'];
  requestTimeoutMs?: number;
  outageGraceMs?: number;
}

export function createBus(opts: CreateBusOptions): Bus {
  const servers = opts.nats === undefined ? [] : (Array.isArray(opts.nats) ? opts.nats : [opts.nats]).filter((s) => s.trim() !== '');
  if (servers.length === 0) {
    return new MemoryBus(opts.log === undefined ? { limits: opts.limits } : { limits: opts.limits, log: opts.log });
  }
  return new NatsBus({
    servers,
    limits: opts.limits,
    ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
    ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.log !== undefined ? { log: opts.log } : {}),
    ...(opts.mailboxShards !== undefined ? { mailboxShards: opts.mailboxShards } : {}),
    ...(opts.msgIdKey !== undefined ? { msgIdKey: opts.msgIdKey } : {}),
    ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
    ...(opts.lowerLimits !== undefined ? { lowerLimits: opts.lowerLimits } : {}),
    ...(opts.access !== undefined ? { access: opts.access } : {}),
    ...(opts.requestPool !== undefined ? { requestPool: opts.requestPool } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.outageGraceMs !== undefined ? { outageGraceMs: opts.outageGraceMs } : {}),
  });
}
