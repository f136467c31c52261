// The secret files of `hushwire oprf` and `hushwire oprf-key public|split|fetch`, read
// as the gateway reads its setting files (docs/OPERATIONS.md, "The OPRF evaluator"):
// - a file that cannot be used (missing, unreadable, a directory, over 64 KiB, not a
//   key) stops the command with one stderr line naming the option and what is wrong,
//   exit 2, nothing on stdout and never the file's contents;
// - an oversize file is refused once 64 KiB are read, not read whole (a FIFO fed up to
//   10 MB shows where the reading stopped);
// - the oprf-key tools warn once on stderr (`warning: ...`) about a secret file that
//   group or others may read, and not about a 0600 one; the files they write are 0600.
// (The evaluator's own mode warning, a log line, is in test/ops/config-safety.test.ts.)
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';
import { bytesToHex as hex, hexToBytes } from '@noble/hashes/utils.js';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { hushwire, type Run } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(240_000);
// The children get this process's environment: none of the runner's HUSHWIRE_ variables.
for (const k of Object.keys(process.env)) if (k.startsWith('HUSHWIRE_')) delete process.env[k];

const dir = tempDir('hw-oprfkeyfiles-');
/** A file made with `mode` (chmod after writing: the umask does not narrow it). */
const file = (name: string, text: string, mode = 0o600): string => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  chmodSync(p, mode);
  return p;
};
/** Nothing listens there: each command reads its files before it connects. */
const DEAD_NATS = 'nats://127.0.0.1:1';
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** The commands that read a key file named by --key-file, with their other arguments. */
const keyFileCommands: { name: string; args: (keyFile: string) => string[]; prefix: string }[] = [
  { name: 'hushwire oprf', args: (k) => ['oprf', '--nats', DEAD_NATS, '--key-file', k], prefix: 'hushwire oprf: ' },
  { name: 'hushwire oprf-key public', args: (k) => ['oprf-key', 'public', '--key-file', k], prefix: 'hushwire: ' },
  { name: 'hushwire oprf-key split', args: (k) => ['oprf-key', 'split', '--key-file', k, '--out', join(dir, 'never-a.key'), '--out', join(dir, 'never-b.key')], prefix: 'hushwire: ' },
];

/** One stderr line, `prefix--flag: ...why...`, exit 2, nothing on stdout, no `secret`. */
function checkRefusal(t: Test, r: Run, prefix: string, flag: string, why: RegExp, secret: string, what: string): void {
  t.equal(r.code, 2, `${what}: exit 2`);
  t.equal(r.stdout, '', `${what}: nothing on stdout`);
  t.equal(lines(r.stderr).length, 1, `${what}: one stderr line (${JSON.stringify(r.stderr)})`);
  t.ok(r.stderr.startsWith(`${prefix}${flag}: `), `${what}: names ${flag} (${JSON.stringify(r.stderr)})`);
  t.match(r.stderr, why, `${what}: says what is wrong`);
  t.notOk(r.stderr.includes(secret), `${what}: not the contents`);
  t.notMatch(r.stderr, /\n\s+at |ENOENT|EISDIR|EACCES/, `${what}: no stack or raw Node error`);
}

t.test('a key file that cannot be used: one line naming --key-file, exit 2, never its contents', async (t) => {
  const notKey = `zz${randomBytes(31).toString('hex')}`; // 64 characters, not hex: looks like a key
  const big = 'k'.repeat(10 * 1024 * 1024); // 10 MB of one line
  const cases: { what: string; path: string; why: RegExp; secret: string; skip?: string }[] = [
    { what: 'missing', path: join(dir, 'nope.key'), why: /cannot read \S+: no such file/, secret: '' },
    { what: 'a directory', path: (() => { const d = join(dir, 'a-dir'); mkdirSync(d, { recursive: true }); return d; })(), why: /cannot read \S+: is a directory/, secret: '' },
    { what: 'under a file', path: join(file('plain', 'x\n'), 'k.key'), why: /a part of the path is not a directory/, secret: '' },
    {
      what: 'unreadable', path: file('locked.key', `${hex(randomBytes(32))}\n`, 0o000), why: /cannot read \S+: permission denied/, secret: '',
      ...(process.getuid?.() === 0 ? { skip: 'root reads a mode 000 file' } : {}),
    },
    { what: 'malformed', path: file('bad.key', `${notKey}\n`), why: /OPRF key must be 64 hex characters/, secret: notKey.slice(2, 40) },
    { what: 'empty', path: file('empty.key', ''), why: /OPRF key must be 64 hex characters/, secret: '' },
    { what: 'a share malformed', path: file('bad-share.key', `oprf-scalar-v1:${notKey}\n`), why: /OPRF key share must be/, secret: notKey.slice(2, 40) },
    { what: 'too large (10 MB)', path: file('big.key', big), why: /is larger than 65536 bytes; it should hold one line \(a key\)/, secret: 'kkkkkkkk' },
  ];
  for (const c of cases) {
    for (const cmd of keyFileCommands) {
      if (c.skip) {
        t.ok(true, `${cmd.name}, ${c.what}`, { skip: c.skip });
        continue;
      }
      const r = await hushwire(cmd.args(c.path), { timeoutMs: 60_000 });
      checkRefusal(t, r, cmd.prefix, '--key-file', c.why, c.secret || '\u0000', `${cmd.name}, ${c.what}`);
      if (cmd.prefix === 'hushwire: ') t.match(r.stderr, /\(BAD_REQUEST\)\n$/, `${cmd.name}, ${c.what}: the CLI's form`);
    }
  }
  t.notOk(existsSync(join(dir, 'never-a.key')) || existsSync(join(dir, 'never-b.key')), 'split wrote no share');
});

t.test('an oversize key file is refused without being read whole', { skip: process.platform === 'win32' ? 'no mkfifo' : false }, async (t) => {
  // A FIFO fed 10 MB: a reader that stops at the bound closes it early and the feeding
  // ends with EPIPE; a reader that reads to the end takes all 10 MB (then says malformed).
  const total = 10 * 1024 * 1024;
  for (const cmd of keyFileCommands) {
    const fifo = join(dir, `fifo-${cmd.name.replace(/\W+/g, '-')}`);
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const run = hushwire(cmd.args(fifo), { timeoutMs: 60_000 });
    const fed = await feedFifo(fifo, total, 60_000);
    const r = await run;
    checkRefusal(t, r, cmd.prefix, '--key-file', /is larger than 65536 bytes/, 'kkkkkkkk', `${cmd.name}, a FIFO`);
    t.ok(fed.closedEarly, `${cmd.name}: the reader closed the FIFO (fed ${fed.written} bytes)`);
    t.ok(fed.written < 1024 * 1024, `${cmd.name}: it took less than 1 MB of the 10 MB (${fed.written} bytes)`);
  }
});

t.test('a FIFO nobody writes to is refused within the deadline, not waited on for good', { skip: process.platform === 'win32' ? 'no mkfifo' : false }, async (t) => {
  // It used to block the command at the open, with no deadline. A writer that comes
  // after the open still counts (the test above feeds its FIFOs after the command opened
  // them); one that never comes gets 10 s (SETTING_PIPE_DEADLINE_MS).
  for (const cmd of keyFileCommands.slice(0, 2)) {
    const fifo = join(dir, `silent-${cmd.name.replace(/\W+/g, '-')}`);
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const r = await hushwire(cmd.args(fifo), { timeoutMs: 60_000 });
    checkRefusal(t, r, cmd.prefix, '--key-file', /\(not a regular file\) gave nothing within 10 s/, '\u0000', `${cmd.name}, a silent FIFO`);
  }
  // A key written into the FIFO a while after the command opened it is read and used.
  const seed = hex(randomBytes(32));
  const fifo = join(dir, 'late-writer');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const run = hushwire(['oprf-key', 'public', '--key-file', fifo], { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 1500));
  const fd = await openWhenRead(fifo, 30_000);
  writeSync(fd, `${seed}\n`);
  closeSync(fd);
  const r = await run;
  t.equal(r.code, 0, `a late writer: exit 0 (${r.stderr})`);
  t.equal(r.stdout, `${hex(deriveServerKey(hexToBytes(seed)).publicKey)}\n`, 'and the key it wrote is the one used');
});

/** The FIFO opened for writing once a reader has it open (ENXIO until then). */
async function openWhenRead(path: string, deadlineMs: number): Promise<number> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Writes up to `total` bytes of 'k' into the FIFO once a reader opened it, until the
 *  reader closes it (EPIPE) or all is written; then closes it. */
async function feedFifo(path: string, total: number, deadlineMs: number): Promise<{ written: number; closedEarly: boolean }> {
  const until = Date.now() + deadlineMs;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const fd = await openWhenRead(path, deadlineMs);
  const chunk = Buffer.alloc(16 * 1024, 'k');
  let written = 0;
  try {
    while (written < total) {
      try {
        written += writeSync(fd, chunk, 0, Math.min(chunk.length, total - written));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') return { written, closedEarly: true };
        if (code !== 'EAGAIN' || Date.now() > until) throw e;
        await sleep(2); // the pipe is full: the reader has not taken it yet
      }
    }
    return { written, closedEarly: false };
  } finally {
    closeSync(fd);
  }
}

t.test('oprf-key public and split: a key file group or others may read gets one warning line', async (t) => {
  const seed = hex(randomBytes(32));
  const pub = hex(deriveServerKey(hexToBytes(seed)).publicKey);
  const keyFile = file('loose.key', `${seed}\n`, 0o644);
  const warning = 'warning: --key-file is readable by group or others (mode 0644): chmod 600 it';

  const p = await hushwire(['oprf-key', 'public', '--key-file', keyFile]);
  t.equal(p.code, 0, p.stderr);
  t.equal(p.stdout, `${pub}\n`, 'the public key, alone on stdout');
  t.same(lines(p.stderr), [warning], 'public: one warning line, the flag and mode');

  const a = join(dir, 'loose-a.key');
  const b = join(dir, 'loose-b.key');
  const s = await hushwire(['oprf-key', 'split', '--key-file', keyFile, '--out', a, '--out', b]);
  t.equal(s.code, 0, s.stderr);
  t.equal(lines(s.stderr).filter((l) => l.startsWith('warning: ')).length, 1, 'split: one warning line');
  t.equal(lines(s.stderr)[0], warning, 'split: before anything else');
  t.equal(statSync(a).mode & 0o777, 0o600, 'the first share is written 0600');
  t.equal(statSync(b).mode & 0o777, 0o600, 'the second share is written 0600');
  for (const r of [p, s]) t.notOk(r.stdout.includes(seed) || r.stderr.includes(seed), 'the key is never printed');
  t.equal(statSync(keyFile).mode & 0o777, 0o644, 'the file is left as it is');

  chmodSync(keyFile, 0o640);
  const g = await hushwire(['oprf-key', 'public', '--key-file', keyFile]);
  t.same(lines(g.stderr), ['warning: --key-file is readable by group or others (mode 0640): chmod 600 it'], 'group only: 0640');

  for (const mode of [0o600, 0o400]) {
    chmodSync(keyFile, mode);
    const ok = await hushwire(['oprf-key', 'public', '--key-file', keyFile]);
    t.equal(ok.code, 0);
    t.equal(ok.stderr, '', `mode 0${mode.toString(8)}: no warning`);
    const oa = join(dir, `ok-a-${mode}.key`);
    const sok = await hushwire(['oprf-key', 'split', '--key-file', keyFile, '--out', oa, '--out', join(dir, `ok-b-${mode}.key`)]);
    t.equal(sok.code, 0, sok.stderr);
    t.same(lines(sok.stderr).filter((l) => l.startsWith('warning: ')), [], `split, mode 0${mode.toString(8)}: no warning`);
    // A share made from it is a key file too: read back with no warning.
    const back = await hushwire(['oprf-key', 'public', '--key-file', oa]);
    t.equal(back.code, 0, back.stderr);
    t.equal(back.stderr, '', 'a share split wrote: no warning (0600)');
  }
});

t.test('oprf-key fetch: its NATS secret files, one line naming the option; a loose one warns once', async (t) => {
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  const fetch = (extra: string[]) => hushwire(['oprf-key', 'fetch', '--nats', DEAD_NATS, '--id', 'main', '--timeout-ms', '1500', ...extra], { timeoutMs: 60_000 });

  // Loose: one warning, before it tries NATS (unreachable here: exit 5), none repeated
  // at its reconnects, which read the file again.
  const loose = file('loose.nk', `${seed}\n`, 0o644);
  const w = await fetch(['--nats-nkey-seed-file', loose]);
  t.equal(w.code, 5, `NATS unreachable: exit 5 (${w.stderr})`);
  t.same(lines(w.stderr), [
    'warning: --nats-nkey-seed-file is readable by group or others (mode 0644): chmod 600 it',
    'hushwire: NATS unreachable (UNAVAILABLE)',
  ], 'one warning line, then the error');
  t.notOk(w.stderr.includes(seed) || w.stderr.includes(dir), 'no seed, no path');
  t.equal(w.stdout, '');

  chmodSync(loose, 0o600);
  const quiet = await fetch(['--nats-nkey-seed-file', loose]);
  t.same(lines(quiet.stderr), ['hushwire: NATS unreachable (UNAVAILABLE)'], '0600: no warning');

  const tokenFile = file('loose.tok', 'a-token\n', 0o604);
  const tw = await fetch(['--nats-token-file', tokenFile]);
  t.equal(lines(tw.stderr)[0], 'warning: --nats-token-file is readable by group or others (mode 0604): chmod 600 it', 'the token file too');

  // Refusals: exit 2, one line naming the option, before any connect.
  const cases: { what: string; flag: string; path: string; why: RegExp; secret: string }[] = [
    { what: 'missing', flag: '--nats-nkey-seed-file', path: join(dir, 'nope.nk'), why: /cannot read \S+: no such file/, secret: '\u0000' },
    { what: 'a directory', flag: '--nats-nkey-seed-file', path: join(dir, 'a-dir'), why: /cannot read \S+: is a directory/, secret: '\u0000' },
    { what: 'too large (10 MB)', flag: '--nats-nkey-seed-file', path: file('big.nk', 'S'.repeat(10 * 1024 * 1024)), why: /is larger than 65536 bytes/, secret: 'SSSSSSSS' },
    { what: 'malformed', flag: '--nats-nkey-seed-file', path: file('bad.nk', `${seed.slice(0, -4)}\n`), why: /seed/i, secret: seed.slice(0, -4) },
    { what: 'too large (10 MB)', flag: '--nats-token-file', path: file('big.tok', 'T'.repeat(10 * 1024 * 1024)), why: /is larger than 65536 bytes/, secret: 'TTTTTTTT' },
  ];
  mkdirSync(join(dir, 'a-dir'), { recursive: true });
  for (const c of cases) {
    const r = await fetch([c.flag, c.path]);
    checkRefusal(t, r, 'hushwire: ', c.flag, c.why, c.secret, `fetch ${c.flag}, ${c.what}`);
  }
});
