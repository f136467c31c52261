// bench/run.ts: when a run as a whole failed (exit 1): every row that counts failed or
// was skipped because of a failure; rows skipped for documented reasons do not count.
import t from 'tap';
import { rowFailed, runFailure, skipped } from '../../bench/run.ts';
import type { RunResult } from '../../bench/types.ts';

function measured(workload: string, delivered: number, extra: Partial<RunResult> = {}): RunResult {
  return { ...skipped('hushwire', workload, ''), skipped: undefined, delivered, delivered_per_s: delivered, ...extra } as RunResult;
}

t.test('rowFailed: a failure skip, no delivery, no device back; not a documented skip', async (t) => {
  t.ok(rowFailed(skipped('hushwire', 'chat', 'failed: connect ECONNREFUSED', true)));
  t.notOk(rowFailed(skipped('nats-ws', 'backlog', 'core NATS pub/sub stores nothing for offline subscribers')));
  t.ok(rowFailed(measured('chat', 0)), 'measured, nothing delivered');
  t.notOk(rowFailed(measured('chat', 10)));
  t.ok(rowFailed({ ...measured('storm', 0), delivered: undefined, devices: 0 }), 'no device back');
  t.notOk(rowFailed({ ...measured('storm', 0), delivered: undefined, devices: 60 }));
  t.notOk(rowFailed({ ...measured('idle', 0), delivered: undefined, devices: 40 }), 'idle delivers nothing by design');
});

t.test('runFailure', async (t) => {
  const fail = skipped('hushwire', 'chat', 'failed: Unexpected server response: 404', true);
  const doc = skipped('nats-ws', 'backlog', 'core NATS pub/sub stores nothing for offline subscribers');
  t.equal(runFailure([]), null, 'nothing ran: no failure (an empty selection is refused before the run)');
  t.equal(runFailure([doc]), null, 'only documented skips');
  t.equal(runFailure([measured('chat', 5), fail]), null, 'one row measured');
  t.equal(runFailure([fail, doc]), 'every run failed (1 of 1; 1 skipped as documented); first: hushwire chat: failed: Unexpected server response: 404');
  t.equal(runFailure([measured('chat', 0), fail]), 'every run failed (2 of 2); first: hushwire chat: nothing delivered');
});
