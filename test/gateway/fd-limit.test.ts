// gateway/fd-limit.ts: --max-connections lowered to what the open-files limit holds, so
// that a gateway at its limit refuses upgrades with 503 instead of leaving clients
// hanging in its listen backlog (and spinning a core, on uWS).
import t from 'tap';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parseOpenFilesLimit, readOpenFilesLimit, reservedDescriptors, descriptorsFor, connectionsWithin } from '../../gateway/fd-limit.ts';
import { spawnGateway } from '../helpers/gateway.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';

const LIMITS = (soft: string, hard: string): string => [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max cpu time              unlimited            unlimited            seconds   ',
  `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
  'Max processes             95000                95000                processes ',
].join('\n');

t.test('parse /proc/<pid>/limits', async (t) => {
  t.same(parseOpenFilesLimit(LIMITS('1024', '524288')), { soft: 1024, hard: 524288 });
  t.same(parseOpenFilesLimit(LIMITS('unlimited', 'unlimited')), { soft: null, hard: null });
  t.same(parseOpenFilesLimit(LIMITS('4096', 'unlimited')), { soft: 4096, hard: null });
  const self = readOpenFilesLimit();
  if (self !== null) t.ok(self.soft === null || self.soft > 0, 'this process\'s own, read from /proc');
  t.equal(readOpenFilesLimit(2 ** 30), null, 'no such process: null');
  t.equal(parseOpenFilesLimit('Max processes 10 10 processes'), null, 'no open-files line');
  t.equal(parseOpenFilesLimit(''), null);
});

t.test('the reserve and the connections a limit holds', async (t) => {
  t.equal(reservedDescriptors(300), 64, 'at least 64');
  t.equal(reservedDescriptors(1024), 102, 'a tenth');
  t.equal(reservedDescriptors(1_000_000), 1024, 'at most 1,024');
  t.equal(connectionsWithin(1024), 922);
  t.equal(connectionsWithin(null), Number.MAX_SAFE_INTEGER, 'unlimited');
  t.equal(connectionsWithin(10), 1, 'never below one');
  for (const n of [1, 100, 922, 50_000, 1_000_000]) {
    t.ok(connectionsWithin(descriptorsFor(n)) >= n, `descriptorsFor(${n}) holds ${n} connections`);
  }
});

const havePrlimit = ((): boolean => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return readFileSync('/proc/self/limits', 'utf8').includes('Max open files');
  } catch {
    return false;
  }
})();

/** A guard against a gateway that never starts, not a measure: tsx compiling it on a
 *  loaded 2-core machine can take many seconds. */
const START_DEADLINE_MS = 60_000;

/** How long an upgrade may go unanswered before it counts as hung ('none'). Only a guard:
 *  an upgrade left in the backlog (the bug this file tests for) is never answered, so
 *  any deadline catches it; a short one (it was 3 s) also caught a gateway that was
 *  merely slow, when a loaded machine gave it (or this process, whose timers then fire
 *  before the answers already received are read) less than 3 s of CPU for 260 upgrades. */
const UNANSWERED_AFTER_MS = 30_000;

/** Opens n WebSocket upgrades at once; counts the status of each answer, or 'none' if
 *  there is none within UNANSWERED_AFTER_MS. Each upgrade is counted once, by whichever
 *  comes first (an answer, an error, the deadline). */
async function upgrades(url: string, n: number): Promise<{ counts: Record<string, number>; close: () => void }> {
  const { port } = new URL(url);
  const counts: Record<string, number> = {};
  const socks: net.Socket[] = [];
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    socks.push(s);
    let counted = false;
    const count = (k: string): void => {
      if (counted) return;
      counted = true;
      clearTimeout(timer);
      counts[k] = (counts[k] ?? 0) + 1;
      resolve();
    };
    const timer = setTimeout(() => count('none'), UNANSWERED_AFTER_MS);
    s.on('error', () => count('error'));
    s.on('connect', () => s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    s.once('data', (d: Buffer) => count(d.toString('latin1').split(' ')[1] ?? 'other'));
  })));
  return { counts, close: () => { for (const s of socks) s.destroy(); } };
}

async function metric(url: string, name: string): Promise<number> {
  const u = new URL(url);
  const text = await (await fetch(`http://${u.host}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

const haveUws = await uwsAvailable();
for (const transport of ['uws', 'ws'] as const) {
  const skip = !havePrlimit ? 'no prlimit or /proc here' : transport === 'uws' && !haveUws ? 'uWebSockets.js has no binary here: only ws' : false;
  t.test(`${transport}: a gateway whose hard limit is too low: fewer connections, a warning, and 503 beyond them (not a hang)`, { skip }, async (t) => {
    const gw = await spawnGateway(['--transport', transport, '--connect-rate', '100000', '--connect-burst', '100000'], {}, START_DEADLINE_MS, ['prlimit', '--nofile=300:300']);
    t.teardown(() => gw.kill('SIGKILL'));
    t.equal(await metric(gw.url, 'hushwire_connections_limit'), 236, '300 descriptors less a reserve of 64');
    t.match(gw.output(), /"openFilesLimit":300,"hardLimit":300,"maxConnections":236,"configured":50000,"msg":"open-files limit too low for --max-connections 50000: at most 236 connections \(more get HTTP 503\); raise the hard limit \(LimitNOFILE= in systemd, ulimit -Hn\) to 51024"/);
    const r = await upgrades(gw.url, 260);
    t.teardown(r.close);
    t.same(r.counts, { 101: 236, 503: 24 }, 'every upgrade answered: the first 236 accepted, the rest told the gateway is full');
  });
}

t.test('a low soft limit under a higher hard one does not count: node raises its soft limit to the hard one at start', { skip: havePrlimit ? false : 'no prlimit or /proc here' }, async (t) => {
  const gw = await spawnGateway(['--max-connections', '3000'], {}, START_DEADLINE_MS, ['prlimit', '--nofile=300:6000']);
  t.teardown(() => gw.kill('SIGKILL'));
  t.same(parseOpenFilesLimit(readFileSync(`/proc/${gw.pid}/limits`, 'utf8')), { soft: 6000, hard: 6000 }, 'node raised it (PlatformInit)');
  t.equal(await metric(gw.url, 'hushwire_connections_limit'), 3000, 'all of --max-connections');
  t.notMatch(gw.output(), /open-files limit too low/);
});
