// NatsBus.mailboxOwners (the orphan sweep walks it) reads a mailbox stream's subjects
// one page at a time: nats-server answers STREAM.INFO's subjects filter with at most
// 100,000 subjects from an `offset`, in subject order. Before, nats.js followed every
// page before the first owner came back, so a large shard's whole list was held at
// once. A shard here holds more subjects than one page; while the listing is walked,
// mailboxes of the first page are erased (as the sweep does, and as drains empty them),
// which shifts the next page: every mailbox still holding mail must be listed, once.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';

/** nats-server's page of subjects (JSMaxSubjectDetails in 2.9). */
const SERVER_PAGE = 100_000;
const MAILBOXES = SERVER_PAGE + 3_000;
/** Erased during the walk, from the first page: more than the page's end would survive
 *  without the overlap, fewer than the overlap (1/8 of a page). */
const ERASED = 2_000;

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('mailbox owners: a shard of more than one page, listed a page at a time, each owner once', { timeout: 300_000 }, async (t) => {
    const server = await startNatsServer({ t });
    const bus = new NatsBus({
      servers: server.url, limits: CONTRACT_LIMITS, prefix: 'own', mailboxShards: 1, name: 'hushwire-test',
      requestTimeoutMs: 20_000, log: () => undefined,
    });
    t.teardown(() => bus.close());
    await bus.start();
    const stream = bus.streamNames[0] as string;

    // Straight into the stream (core publishes: faster than a put each).
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const owners = new Set<string>();
    const one = new Uint8Array([1]);
    for (let i = 0; i < MAILBOXES; i++) {
      const key = `${tok()}.${tok()}`;
      owners.add(key);
      nc.publish(`own.mbox.${key}`, one);
      if (i % 10_000 === 0) await nc.flush();
    }
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await until('every mailbox stored', async () => (await jsm.streams.info(stream)).state.messages === MAILBOXES, 60_000, 200);

    // The STREAM.INFO requests of the listing, as nats-server routes them.
    let infos = 0;
    nc.subscribe(`$JS.API.STREAM.INFO.${stream}`, { callback: () => { infos++; } });
    await nc.flush();

    const seen = new Map<string, number>();
    const erased = new Set<string>();
    let infosAtFirst = -1;
    for await (const o of bus.mailboxOwners()) {
      const key = `${o.routeTag}.${o.deviceToken}`;
      if (infosAtFirst < 0) {
        await nc.flush(); // every request routed before this owner's page came has reached us
        infosAtFirst = infos;
      }
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (erased.size < ERASED) {
        await bus.mailboxPurge(o.routeTag, o.deviceToken);
        erased.add(key);
      }
    }
    await nc.flush();

    t.equal(infosAtFirst, 1, 'the first owner came after one page, not the whole list');
    t.ok(infos >= 2, `more than one page asked for (${infos})`);
    const missing = [...owners].filter((k) => !erased.has(k) && !seen.has(k));
    t.equal(missing.length, 0, 'every mailbox still holding mail was listed (none skipped by the erases before the next page)');
    t.equal([...seen.values()].filter((n) => n > 1).length, 0, 'none listed twice');
    t.equal(seen.size, MAILBOXES, 'every mailbox listed');
  });
}
