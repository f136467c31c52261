// Starting a NatsBus on a just-formed nats-server cluster (startNatsCluster), as the bus
// tests on a cluster do (nats-cluster, nats-unregistered).
import type { Test } from 'tap';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';

/** A started NatsBus named `name` on the node at `url`, closed at `t`'s teardown.
 *  Starting creates the mailbox streams and the directory bucket at R3: on a just-formed
 *  cluster under the whole suite's load on two cores one of those requests once took over
 *  5 s ("cannot set up JetStream"), so a start is tried up to three times, each with a
 *  fresh bus, as a gateway's start is retried (gateway/bus-start.ts). */
export async function startClusterBus(t: Test, opts: Omit<NatsBusOptions, 'servers' | 'name'>, name: string, url: string): Promise<NatsBus> {
  for (let attempt = 1; ; attempt++) {
    const bus = new NatsBus({ ...opts, servers: [url], name });
    try {
      await bus.start();
      t.teardown(() => bus.close());
      return bus;
    } catch (e) {
      await bus.close();
      if (attempt === 3) throw e;
    }
  }
}
