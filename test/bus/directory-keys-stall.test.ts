// The NATS bus's directory listing (Bus.directoryKeys, which the idle sweep walks) has a
// deadline: when nats-server stops delivering keys (stalled with SIGSTOP on the PID this
// test started; SIGCONT at teardown and by a timer, so it never stays stopped), the
// listing fails UNAVAILABLE within the bus's request timeout instead of waiting for the
// server. Before, it waited as long as the server did (seen: 100 s, the whole stall);
// the sweep waited with it, and so did the gateway's close (Privacy.stop waits for the
// sweep under way), so a SIGTERM during a NATS outage never ended the gateway.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ErrorCode, isHushwireError } from '../../relay/errors.ts';
import { haveNatsServer, stallNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { busWithDirectoryKeys } from '../helpers/directory-keys.ts';
import { until } from '../helpers/poll.ts';

/** Enough keys that the listing is still being delivered when the stall begins (the
 *  consumer had handed over ~3,800 of 30,000 by the time the first reached the caller). */
const KEYS = 20_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Far longer than the listing may wait: the test resumes the server itself. */
const STALL_MAX_MS = 120_000;

/** Whether the process is stopped (SIGSTOP in effect), as the kernel shows it. */
function isStopped(pid: number): boolean {
  return / T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('a directory listing that nats-server stops delivering fails UNAVAILABLE', { timeout: 180_000 }, async (t) => {
    const server = await startNatsServer({ t });
    const bus = await busWithDirectoryKeys(t, server, 'dks', REQUEST_TIMEOUT_MS, KEYS);

    const it = bus.directoryKeys()[Symbol.asyncIterator]();
    const first = await it.next();
    t.notOk(first.done, 'the listing started');
    const pid = server.pid;
    const resume = stallNatsServer(t, server, STALL_MAX_MS);
    await until('nats-server to be stopped', () => isStopped(pid), 10_000, 5);
    let seen = 1;
    let error: unknown = null;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        seen++;
      }
    } catch (e) {
      error = e;
    }
    t.ok(isStopped(pid), 'the listing ended while nats-server was still stopped');
    t.ok(seen < KEYS, `it ended before every key had come (${seen} of ${KEYS})`);
    t.ok(isHushwireError(error) && error.code === ErrorCode.UNAVAILABLE, 'with UNAVAILABLE');
    resume();

    // Nothing left behind: once the server answers again, a new listing has every key.
    let all = 0;
    for await (const _ of bus.directoryKeys()) all++;
    t.equal(all, KEYS, 'a listing after the stall has every key');
  });
}
