// bench/profile-summary.ts: self time per function, file and category from V8
// .cpuprofile data, a busy-time timeline, and a time window.
import t from 'tap';
import { categorise, summarise, timeline } from '../../bench/profile-summary.ts';

const ROOT = '/repo/';
const fn = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url, lineNumber: 0 } });

// One profile: 1 ms samples (timeDeltas in µs) over four functions.
const NODES = [
  fn(1, '(idle)', ''),
  fn(2, 'encodeFrameOut', 'file:///repo/relay/frame-out.ts'),
  fn(3, 'publish', 'file:///repo/node_modules/@nats-io/nats-core/lib/protocol.js'),
  fn(4, '(garbage collector)', ''),
  fn(5, 'offer', 'file:///repo/relay/session.ts'),
];
function profile(startTime: number, samples: number[]) {
  return { nodes: NODES, startTime, endTime: startTime + samples.length * 1000, samples, timeDeltas: samples.map(() => 1000) };
}

t.test('self time by function, file and category', async (t) => {
  const p = profile(0, [1, 1, 2, 2, 2, 3, 4, 5, 1, 2]);
  const s = summarise([p], ROOT);
  t.equal(s.totalMs, 10);
  t.same(s.byFunction[0], ['encodeFrameOut relay/frame-out.ts:1', 4], 'most self time first');
  t.same(Object.fromEntries(s.byFile), { 'relay/frame-out.ts': 4, '(native)': 4, 'node_modules/@nats-io/nats-core': 1, 'relay/session.ts': 1 }, 'node_modules grouped by package');
  t.same(Object.fromEntries(categorise(s)), {
    'wire frames (relay/frame-in, frame-out, varint, relayed envelope)': 4, idle: 3,
    'NATS client (nats.js)': 1, 'garbage collection': 1, 'session state machine (relay/session.ts)': 1,
  });
});

t.test('timeline: busy ms per slice over all profiles; a window keeps only its samples', async (t) => {
  // A sample's time is its profile's start plus the deltas up to and including its own
  // (V8's timeDeltas[i] is the gap before sample i): a's samples sit at 1..10 ms, b's
  // (started 5 ms later) at 6..10 ms.
  const a = profile(0, [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
  const b = profile(5000, [3, 3, 3, 3, 3]);
  t.same(timeline([a, b], 5), [2, 4, 1], 'busy: a at 1 and 2 ms; b at 6-9, then 10 ms; idle is not busy');
  const s = summarise([a, b], ROOT, { fromMs: 5, toMs: 10 });
  t.equal(s.totalMs, 9, 'samples stamped from 5 ms up to, not including, 10 ms: a at 5-9, b at 6-9');
  t.same(Object.fromEntries(s.byFile), { '(native)': 5, 'node_modules/@nats-io/nats-core': 4 });
});
