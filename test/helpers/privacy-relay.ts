// The part of a Relay that relay/privacy/privacy.ts uses, over a bus: Privacy's passes
// (the sweep, last_seen) tested alone, without a gateway. Logs and metrics go nowhere.
import { Registry } from 'prom-client';
import type { Bus } from '../../relay/bus/bus.ts';
import { Directory } from '../../relay/directory.ts';
import { silentLogger } from '../../relay/log.ts';
import type { PrivacySession } from '../../relay/privacy/privacy.ts';
import type { Relay } from '../../relay/relay.ts';

export function privacyRelay(bus: Bus, sessions: PrivacySession[] = []): Relay {
  return {
    bus,
    directory: new Directory(bus, 5),
    metrics: { registry: new Registry(), rateLimited: { inc: () => undefined } },
    log: silentLogger(),
    limits: { maxDevicesPerRoute: 5 },
    sessions: () => sessions,
    warnRepeated: () => undefined,
  } as unknown as Relay;
}
