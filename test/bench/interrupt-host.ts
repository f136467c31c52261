// A stand-in for `hushwire bench` in test/bench/interrupt.test.ts: registers what the
// bench registers (a child process through bench/procs.ts, temp dirs through
// bench/interrupt.ts, one with a file in it like the gateways' OPRF key), prints the
// pids and dirs as one JSON line, then behaves as argv[2] says:
//   wait     keeps running until a signal ends it (the bench's handler must)
//   hang     starts the watchdog (stale after 2 s) first, then blocks the main thread
//            for good, so that only the watchdog can clean up
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../../bench/procs.ts';
import { installInterruptHandler, makeTempDir, setActivity } from '../../bench/interrupt.ts';
import { startWatchdog } from '../../bench/watchdog.ts';

const mode = process.argv[2];
const dog = mode === 'hang' ? startWatchdog(2000) : null;
installInterruptHandler();
setActivity('hushwire chat (measuring)');
const child = startChild('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000); setTimeout(() => process.exit(9), 60000);']);
const a = makeTempDir('hw-bench-gw-');
writeFileSync(join(a.dir, 'oprf.key'), 'secret\n', { mode: 0o600 });
const b = makeTempDir('hw-bench-nats-');
writeFileSync(join(b.dir, 'nats.conf'), 'listen: 127.0.0.1:0\n');
// One made and removed again: the watchdog must forget it (and not count it).
makeTempDir('hw-bench-mqtt-').remove();
process.stdout.write(JSON.stringify({ host: process.pid, child: child.pid, watchdog: dog?.pid ?? 0, dirs: [a.dir, b.dir] }) + '\n');

if (mode === 'wait') {
  setTimeout(() => process.exit(9), 60_000);
} else if (mode === 'hang') {
  setTimeout(() => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }, 300);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
