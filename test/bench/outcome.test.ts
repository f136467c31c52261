// bench/run.ts: when a run as a whole failed (exit 1): every row that counts failed or
// was skipped because of a failure; rows skipped for documented reasons do not count.
// And how a row says its refused sends.
import t from 'tap';
import { connectionsClosedNote, refusedNote, rowFailed, runFailure, skipped } from '../../bench/run.ts';
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

t.test('refusedNote: the count with thousands separators, the reason, and for RATE_LIMITED the gateway limits to raise', async (t) => {
  t.equal(refusedNote(12_345, { RATE_LIMITED: 12_345 }),
    '12,345 sends refused (RATE_LIMITED: raise the gateways\' send rate limit, --send-rate and --send-burst (or --recipient-budget-bytes, per recipient))');
  t.equal(refusedNote(1_500, { NOT_REGISTERED: 300, RATE_LIMITED: 1_200 }),
    '1,500 sends refused (RATE_LIMITED 1,200: raise the gateways\' send rate limit, --send-rate and --send-burst (or --recipient-budget-bytes, per recipient); NOT_REGISTERED 300)', 'most frequent first, each counted');
  t.equal(refusedNote(3, { 'client disconnecting': 3 }), '3 sends refused (client disconnecting)', 'a peer\'s reason, no hint');
  t.equal(refusedNote(2, {}), '2 sends refused');
  t.equal(refusedNote(9, { UNAVAILABLE: 9 }),
    '9 sends refused (UNAVAILABLE: the gateways were over capacity (more sends in flight than they take: docs/OPERATIONS.md, Limits) or their NATS was unavailable)', 'UNAVAILABLE: over capacity or NATS');
});

t.test('connectionsClosedNote: connections the server closed during a run, by close code, named', async (t) => {
  t.equal(connectionsClosedNote({}), null, 'none: no note');
  t.equal(connectionsClosedNote({ 4008: 0 }), null, 'zero counts: no note');
  t.equal(connectionsClosedNote({ 4008: 1 }), '1 connection closed by the server during the run (4008 FLOOD 1)');
  t.equal(connectionsClosedNote({ 1006: 2, 4004: 1_200, 4999: 3 }),
    '1,205 connections closed by the server during the run (4004 SLOW_CONSUMER 1,200, 4999 3, 1006 ABNORMAL 2)', 'most first; an unknown code unnamed');
});
