// The `hushwire` CLI as a user runs it: child processes (`node bin/hushwire.js ...`)
// against a real gateway started in-process on a free port.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway } from '../helpers/gateway.ts';
import { deadUrl } from './fake-gateway.ts';

import { hushwire, errorLineProblems, cliProfiles } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { until } from '../helpers/poll.ts';

// Dozens of child processes (each loads TypeScript through tsx): slow on a busy CI box.
t.setTimeout(300_000);

const A = '+15550100001';
const B = '+15550100002';

/** A test gateway and two registered profiles on it (A in `a`, B in `b`). */
async function twoProfiles(t: { teardown(fn: () => unknown): void }) {
  const { gw, profiles: [a, b] } = await cliProfiles(t, [A, B]);
  return { gw, a: a!, b: b! };
}

t.test('--help lists every command, and every command has its own --help', async (t) => {
  const top = await hushwire(['--help']);
  t.equal(top.code, 0);
  for (const c of ['register', 'send', 'listen', 'unregister', 'gateway']) t.match(top.stdout, new RegExp(`\\n  ${c}\\b`), `lists ${c}`);
  t.match(top.stdout, /Exit codes:/);
  t.match(top.stdout, /\n  130, 143  ended by SIGINT/, 'the exit codes of a signal are listed');
  const helps = await Promise.all(['register', 'send', 'listen', 'unregister', 'gateway'].map((c) => hushwire([c, '--help']).then((r) => ({ c, r }))));
  for (const { c, r } of helps) {
    t.equal(r.code, 0, `${c} --help exits 0`);
    t.match(r.stdout, new RegExp(`^Usage: hushwire ${c}`), `${c} --help shows its usage`);
  }
  // The help says what the commands do: listen prints senderKeys; the longest text is the
  // SDK's MAX_TEXT_BYTES; only register creates the profile; --gateway has no "default".
  const help = (c: string) => helps.find((h) => h.c === c)!.r.stdout;
  t.match(help('listen'), /\{"id","from","text","sentAt","senderKeys"\}/);
  t.match(help('send'), /up to 65,341 bytes of UTF-8/);
  t.notMatch(help('send'), /created 0700/, 'send does not create a profile');
  t.match(help('register'), /--profile <dir>\s+profile directory to create/);
  t.notMatch(help('register'), /default: /, 'no made-up default for --gateway');
  t.match(help('register'), /Prints \{"status":"registered","device"\}/);
  t.match(help('unregister'), /Prints \{"status":"unregistered"\}, or \{"status":"forgotten locally"\} with --forget-locally/);
  const noGateway = await hushwire(['register', '--number', A, '--profile', join(tempDir('hw-cli-'), 'x')]);
  t.equal(noGateway.code, 2);
  t.match(noGateway.stderr, /^hushwire: required option '--gateway <url>' not specified \(BAD_REQUEST\)\n$/);
  const v = await hushwire(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('usage errors are one line, exit 2', async (t) => {
  const r = await hushwire(['send', '--to', A, 'x']);
  t.equal(r.code, 2);
  t.same(errorLineProblems(r, 'BAD_REQUEST'), [], 'one clean BAD_REQUEST line');
  const u = await hushwire(['frobnicate']);
  t.equal(u.code, 2);
  t.same(errorLineProblems(u, 'BAD_REQUEST'), [], 'one clean BAD_REQUEST line');
});

t.test('register, send, listen, unregister against a real gateway', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-cli-');
  const a = join(dir, 'a');
  const b = join(dir, 'b');

  const [ra, rb] = await Promise.all([
    hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a]),
    hushwire(['register', '--gateway', gw.url, '--number', B, '--profile', b]),
  ]);
  t.equal(ra.code, 0, ra.stderr);
  t.equal(rb.code, 0, rb.stderr);
  t.match(JSON.parse(ra.stdout), { status: 'registered' });

  const sent = await hushwire(['send', '--profile', a, '--to', B, 'hello from A']);
  t.equal(sent.code, 0, sent.stderr);
  const s = JSON.parse(sent.stdout) as { id: string; status: string };
  t.same(Object.keys(s).sort(), ['id', 'status']);
  t.match(s.id, /^[0-9a-f]{32}$/);
  t.equal(s.status, 'stored', 'B is offline: stored in the mailbox');

  const heard = await hushwire(['listen', '--profile', b, '--count', '1', '--timeout', '15']);
  t.equal(heard.code, 0, heard.stderr);
  const lines = heard.stdout.trim().split('\n');
  t.equal(lines.length, 1);
  const m = JSON.parse(lines[0]) as Record<string, string>;
  t.same(Object.keys(m).sort(), ['from', 'id', 'senderKeys', 'sentAt', 'text']);
  t.equal(m.senderKeys, 'unverified', 'the sender\'s key accepted on first use, not verified');
  t.equal(m.id, s.id, 'the id send printed');
  t.equal(m.from, A, 'the sender number from inside the envelope');
  t.equal(m.text, 'hello from A');
  t.ok(Math.abs(Date.parse(m.sentAt) - Date.now()) < 60_000, 'sentAt is a recent ISO time');
  t.equal(new Date(m.sentAt).toISOString(), m.sentAt);

  const again = await hushwire(['listen', '--profile', b, '--count', '1', '--timeout', '2']);
  t.equal(again.code, 3, 'nothing more (acked and deduplicated): timeout exits 3');
  t.equal(again.stdout, '');
  t.same(errorLineProblems(again, 'TIMEOUT'), [], 'one clean TIMEOUT line');

  const bad = await hushwire(['send', '--profile', a, '--to', '555-0100', 'x']);
  t.equal(bad.code, 2);
  t.same(errorLineProblems(bad, 'BAD_NUMBER'), [], 'one clean BAD_NUMBER line');
  t.notMatch(bad.stderr, /555-?0100/, 'the number is not echoed (the message\'s example, +15550000001, is not it)');

  const unknown = await hushwire(['send', '--profile', a, '--to', '+15550109999', 'x']);
  t.not(unknown.code, 0);
  t.same(errorLineProblems(unknown, 'NOT_REGISTERED'), [], 'one clean NOT_REGISTERED line');
  t.notMatch(unknown.stderr, /5550109999/);
  t.match(unknown.stderr, /^hushwire: that number is not registered with Hushwire \(it never registered, or it opted out\) \(NOT_REGISTERED\)\n$/, 'not "recipient is not registered"');
  const unknownSn = await hushwire(['safety-number', '--profile', a, '--to', '+15550109999']);
  t.equal(unknownSn.code, 4);
  t.match(unknownSn.stderr, /that number is not registered with Hushwire/, 'the same words where there is no recipient');

  const un = await hushwire(['unregister', '--profile', b]);
  t.equal(un.code, 0, un.stderr);
  t.notOk(existsSync(join(b, 'device.json')), 'device.json deleted');

  const gone = await hushwire(['send', '--profile', a, '--to', B, 'are you there?']);
  t.not(gone.code, 0);
  t.same(errorLineProblems(gone, 'NOT_REGISTERED'), [], 'one clean NOT_REGISTERED line');

  const notReg = await hushwire(['send', '--profile', b, '--to', A, 'x']);
  t.not(notReg.code, 0);
  t.same(errorLineProblems(notReg, 'NOT_REGISTERED'), [], 'one clean NOT_REGISTERED line');
  t.match(notReg.stderr, /not registered/);

  const debug = await hushwire(['send', '--profile', b, '--to', A, 'x'], { env: { HUSHWIRE_DEBUG: '1' } });
  t.match(debug.stderr, /\n\s+at /, 'HUSHWIRE_DEBUG=1 adds the stack');
});

t.test('listen: mail from a sender who opted out since is dropped with a line on stderr, or printed "verified":false with --accept-unverified', async (t) => {
  // The recipient can no longer check the sender's number against the directory. Before,
  // listen dropped such mail without a word (found by an operator audit).
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-cli-');
  const [c, d, e] = ['c', 'd', 'e'].map((n) => join(dir, n)) as [string, string, string];
  const [C, D, E] = ['+15550107771', '+15550107772', '+15550107773'];
  for (const [num, prof] of [[C, c], [D, d], [E, e]] as const) {
    const r = await hushwire(['register', '--gateway', gw.url, '--number', num, '--profile', prof]);
    t.equal(r.code, 0, r.stderr);
  }
  for (const [from, text] of [[c, 'one'], [c, 'two'], [e, 'three']] as const) {
    const r = await hushwire(['send', '--profile', from, '--to', D, text]);
    t.equal(r.code, 0, r.stderr);
  }
  t.equal((await hushwire(['unregister', '--profile', c])).code, 0, 'C opts out with two messages waiting for D');

  const strict = await hushwire(['listen', '--profile', d, '--count', '1', '--timeout', '15']);
  t.equal(strict.code, 0, strict.stderr);
  t.same(strict.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), ['three'], 'only the verifiable message is printed');
  const dropped = strict.stderr.split('\n').filter((l) => l.startsWith('dropped a message for good: its sender can no longer be verified'));
  t.equal(dropped.length, 2, 'one stderr line per dropped message');
  // It said "listen --accept-unverified prints such messages", read as "run it again to see
  // this one": the message is acknowledged and gone, so a later --accept-unverified shows
  // only later ones. The line says so.
  t.match(dropped[0], /it will not come again; to print such messages instead, flagged "verified":false, run listen with --accept-unverified/);
  t.notMatch(strict.stderr, /5550107771|one|two/, 'the line names no number and no text');

  // E opts out too; a message of E's still waiting is printed, flagged, with --accept-unverified.
  t.equal((await hushwire(['send', '--profile', e, '--to', D, 'four'])).code, 0);
  t.equal((await hushwire(['unregister', '--profile', e])).code, 0);
  const lax = await hushwire(['listen', '--profile', d, '--count', '1', '--timeout', '15', '--accept-unverified']);
  t.equal(lax.code, 0, lax.stderr);
  const m = JSON.parse(lax.stdout.trim()) as Record<string, unknown>;
  t.same(Object.keys(m).sort(), ['from', 'id', 'senderKeys', 'sentAt', 'text', 'verified']);
  t.match(m, { from: E, text: 'four', verified: false });
  t.equal(lax.stderr, '', 'nothing dropped');
});

t.test('live delivery: a running listen gets the message, send reports delivered', async (t) => {
  const { gw, a, b } = await twoProfiles(t);
  const listening = hushwire(['listen', '--profile', b, '--count', '2', '--timeout', '20']);
  // The listener authenticated (and so subscribed) first, so the sends go live rather
  // than to the mailbox: awaited, not a fixed pause a loaded machine can outlast.
  const bDevice = (JSON.parse(readFileSync(join(b, 'device.json'), 'utf8')) as { device: string }).device;
  await until('the listener to authenticate', () => [...gw.relay.sessions()].some((s) => s.authenticated && !s.sendOnly && s.deviceKey?.devTok === bDevice), 20_000);
  const s1 = await hushwire(['send', '--profile', a, '--to', B, 'one']);
  const s2 = await hushwire(['send', '--profile', a, '--to', B, 'two']);
  const heard = await listening;
  t.equal(heard.code, 0, heard.stderr);
  const got = heard.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string });
  t.same(got.map((m) => m.text), ['one', 'two'], 'in order');
  t.same(got.map((m) => m.id), [JSON.parse(s1.stdout).id, JSON.parse(s2.stdout).id]);
  t.equal(JSON.parse(s1.stdout).status, 'delivered');
});

t.test('an unreachable gateway is one line and a non-zero exit', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  const dir = tempDir('hw-cli-');
  const a = join(dir, 'a');
  await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a]);
  await gw.close();
  const r = await hushwire(['send', '--profile', a, '--to', B, 'x']);
  t.equal(r.code, 5);
  t.same(errorLineProblems(r, 'UNAVAILABLE'), [], 'one clean UNAVAILABLE line');
  // listen --timeout shorter than its connect attempts: no gateway reached is exit 5, not
  // "timed out after 0 messages" (exit 3), which reads as an empty mailbox.
  const l = await hushwire(['listen', '--profile', a, '--timeout', '2']);
  t.equal(l.code, 5, l.stderr);
  t.same(errorLineProblems(l, 'UNAVAILABLE'), [], 'one clean UNAVAILABLE line');
  t.match(l.stderr, /no gateway answered within --timeout 2 s \(listen was still trying to connect\)/);
  const reg = await hushwire(['register', '--gateway', await deadUrl(), '--number', B, '--profile', join(dir, 'b')]);
  t.equal(reg.code, 5);
  t.same(errorLineProblems(reg, 'UNAVAILABLE'), [], 'one clean UNAVAILABLE line');
});

t.test('a text over the largest envelope is TOO_LARGE, exit 2, before anything is sent', async (t) => {
  const { a, b } = await twoProfiles(t);
  const r = await hushwire(['send', '--profile', a, '--to', B, 'x'.repeat(70_000)]);
  t.equal(r.code, 2);
  t.same(errorLineProblems(r, 'TOO_LARGE'), [], 'one clean TOO_LARGE line');
  const ok = await hushwire(['send', '--profile', a, '--to', B, 'x'.repeat(60_000)]);
  t.equal(ok.code, 0, ok.stderr);
  const help = await hushwire(['send', '--help']);
  t.match(help.stdout, /65,535 bytes/);
});
