// "The number is seen only transiently during opt-in, and stored nowhere" — checked in
// the gateway's own memory. A gateway runs as a child process with a heap-snapshot
// signal; the test takes a V8 heap snapshot (which collects garbage first) while a
// verification is pending and again after the registration finished, and looks for the
// number among every string on the heap. The pending verification must hold only a
// keyed MAC of the number, and nothing may keep the number afterwards.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGateway } from '../helpers/gateway.ts';
import { connectRaw } from '../helpers/raw.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { until } from '../helpers/poll.ts';

const dir = mkdtempSync(join(tmpdir(), 'hw-heap-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// A string the gateway certainly keeps (its name, in its config): the self-check that a
// snapshot shows retained strings, digits included.
const canary = `heapcanary${String(process.pid).padStart(7, '0')}`;
const gw = await spawnGateway(['--transport', 'ws', '--name', canary], {
  NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim(),
});
t.teardown(() => gw.kill('SIGKILL'));

/** Signals the gateway, waits for the complete snapshot file, returns its text. */
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(gw.pid, 'SIGUSR2');
  let file = '';
  let lastSize = -1;
  await until('the heap snapshot', () => {
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length === 0) return false;
    file = join(dir, fresh[0]!);
    // Written in one go by the gateway's main thread; done when the size stops moving
    // and the JSON is closed.
    const size = statSync(file).size;
    const done = size === lastSize && size > 0 && readFileSync(file, 'utf8').trimEnd().endsWith('}');
    lastSize = size;
    return done;
  }, 60_000, 250);
  const text = readFileSync(file, 'utf8');
  rmSync(file);
  return text;
}

const number = `+1555${String(process.pid % 1000).padStart(3, '0')}4321`;
const digits = number.slice(1);
const national = digits.slice(1);

t.test('while a verification is pending', async (t) => {
  const c = await connectRaw(gw.url);
  await c.next((o) => o.body === 'challenge');
  c.send([{ req: 1, verifyStart: { number } }]);
  t.equal((await c.reply(1)).body, 'verifyStarted');
  const heap = await snapshot();
  t.ok(heap.includes('"strings"'), 'a heap snapshot');
  t.ok(heap.includes(canary), 'self-check: a string the gateway keeps is found');
  t.notOk(heap.includes(digits), 'the number is not on the gateway heap (only its keyed MAC)');
  t.notOk(heap.includes(national), 'nor its national form');
  c.close();
});

t.test('after the registration', async (t) => {
  const { c } = await registerRaw(gw.url, number);
  c.close();
  await c.closed;
  const heap = await snapshot();
  t.notOk(heap.includes(digits), 'the number is not on the gateway heap');
  t.notOk(heap.includes(national), 'nor its national form');
});
