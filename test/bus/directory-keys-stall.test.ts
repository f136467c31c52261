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

/** Enough keys that the listing is still being delivered when the stall begins: more than
 *  nats-server can send without two answers to its flow control (the ordered consumer's
 *  window starts at 2 MiB, ~9,700 keys here, and doubles at each answer). The consumer
 *  hands over keys while the listing is being set up (~3,800 of 30,000 had come by the
 *  time the first reached the caller, and nats.js answers as it reads, not as the caller
 *  takes keys). Stops have come after 11,334 keys had been listed, past the first answer:
 *  with 20,000, the ~10,300 left fit in the doubled window, so nats-server could send
 *  every key before the stop. */
const KEYS = 40_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Far longer than the listing may wait: the test resumes the server itself. Below tap's
 *  120 s file timeout, so a listing that waits for the server fails on its asserts. */
const STALL_MAX_MS = 60_000;
/** Tries whose listing may turn out to have had every key sent before nats-server
 *  stopped (nothing proved, so tried again with a fresh listing); the last is judged. */
const ATTEMPTS = 5;

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

    // Which keys a SIGSTOPped nats-server still holds depends on how far it got: the
    // ordered consumer pushes keys without waiting for the listing, as far as its
    // flow-control window lets it (see KEYS), nats.js answers that flow control as it reads
    // (not as the caller takes keys), and loopback buffers all that. With 20,000 keys,
    // when nats.js had read ~9,700 and answered before the first key reached the caller,
    // nats-server could write the last key to the socket before the stop: the listing then
    // read every key from the socket and ended with no error, and this test failed (2
    // asserts) with no wait for the stopped server to bound. KEYS leaves keys past the
    // window; and should every key still have come, that is told apart by what is seen,
    // not guessed: a listing that reached its end, every key listed and no error, with
    // nats-server still stopped had nothing left to wait for, and is tried again. A
    // listing that waited for the stopped server (no bound) ends only once STALL_MAX_MS
    // resumes it, so it is judged, and fails. The last of ATTEMPTS tries is judged
    // whatever came.
    const pid = server.pid;
    for (let attempt = 1; ; attempt++) {
      const it = bus.directoryKeys()[Symbol.asyncIterator]();
      const first = await it.next();
      t.notOk(first.done, 'the listing started');
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
      const endedStopped = isStopped(pid);
      resume();
      if (endedStopped && error === null && seen === KEYS && attempt < ATTEMPTS) {
        t.comment(`attempt ${attempt}: every key had left nats-server before it stopped; again`);
        continue;
      }
      t.comment(`attempt ${attempt}: ${seen} keys listed`);
      t.ok(endedStopped, 'the listing ended while nats-server was still stopped');
      t.ok(seen < KEYS, `it ended before every key had come (${seen} of ${KEYS})`);
      t.ok(isHushwireError(error) && error.code === ErrorCode.UNAVAILABLE, 'with UNAVAILABLE');
      break;
    }

    // Nothing left behind: once the server answers again, a new listing has every key.
    let all = 0;
    for await (const _ of bus.directoryKeys()) all++;
    t.equal(all, KEYS, 'a listing after the stall has every key');
  });
}
