// `hushwire oprf-key split` writes two shares or none. It wrote the first share, then
// found the second --out taken (or not writable) and stopped, leaving the first share on
// disk: half a split, a key file nobody asked to keep, and a second run refused because
// that file now exists. Both outputs are now checked before anything is written, the
// shares are written to private temp files and put in place without overwriting
// anything, and a failure at the second removes the first. `generate` writes the same
// way. Child processes, as an operator runs them.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { combinePublicKeys } from '../../relay/crypto/oprf-split.ts';
import { parseOprfKey } from '../../relay/evaluator.ts';
import { hushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(120_000);

const KEY = `${'ab'.repeat(32)}\n`;

/** A temp directory holding the key (`oprf.key`, 0600), and the path of the first
 *  share's --out in it (not written): where each split test starts. */
function keyToSplit(): { dir: string; keyFile: string; a: string } {
  const dir = tempDir('hw-split-out-');
  const keyFile = join(dir, 'oprf.key');
  writeFileSync(keyFile, KEY, { mode: 0o600 });
  return { dir, keyFile, a: join(dir, 'a.key') };
}

/** `hushwire oprf-key split` of `keyFile` into the shares `a` and `b`. */
const split = (keyFile: string, a: string, b: string) => hushwire(['oprf-key', 'split', '--key-file', keyFile, '--out', a, '--out', b]);

t.test('split: the second --out already exists: nothing written, the existing file untouched', async (t) => {
  const { dir, keyFile, a } = keyToSplit();
  const b = join(dir, 'b.key');
  writeFileSync(b, 'not mine\n', { mode: 0o600 });
  const r = await split(keyFile, a, b);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /b\.key exists; key files are never overwritten \(BAD_REQUEST\)/, 'names the file taken');
  t.equal(r.stdout, '', 'no share printed');
  t.notOk(existsSync(a), 'the first share was not left behind');
  t.equal(readFileSync(b, 'utf8'), 'not mine\n', 'the existing file is untouched');
  t.same(readdirSync(dir).sort(), ['b.key', 'oprf.key'], 'no temp file left');

  // The same run once the way is clear: both shares, adding up to the key.
  const b2 = join(dir, 'b2.key');
  const ok = await split(keyFile, a, b2);
  t.equal(ok.code, 0, ok.stderr);
  const ka = parseOprfKey(readFileSync(a, 'utf8'));
  const kb = parseOprfKey(readFileSync(b2, 'utf8'));
  t.equal(hex(combinePublicKeys([ka.publicKey, kb.publicKey])), hex(parseOprfKey(KEY).publicKey), 'the shares add up to the key');
  t.equal(statSync(a).mode & 0o777, 0o600);
  t.equal(statSync(b2).mode & 0o777, 0o600);
  t.same(readdirSync(dir).sort(), ['a.key', 'b.key', 'b2.key', 'oprf.key'], 'no temp file left');
});

t.test('split: the first --out exists: nothing written', async (t) => {
  const { dir, keyFile, a } = keyToSplit();
  const b = join(dir, 'b.key');
  writeFileSync(a, 'not mine\n', { mode: 0o600 });
  const r = await split(keyFile, a, b);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /a\.key exists; key files are never overwritten/);
  t.notOk(existsSync(b), 'no second share');
  t.equal(readFileSync(a, 'utf8'), 'not mine\n');
});

t.test('split: the second share cannot be written (no such directory): the first is removed', async (t) => {
  const { dir, keyFile, a } = keyToSplit();
  const b = join(dir, 'missing', 'b.key');
  const r = await split(keyFile, a, b);
  t.not(r.code, 0, 'fails');
  t.notOk(existsSync(a), 'the first share was not left behind');
  t.same(readdirSync(dir).sort(), ['oprf.key'], 'no temp file left');
});

t.test('split: the second --out is a directory: nothing written', async (t) => {
  const { dir, keyFile, a } = keyToSplit();
  mkdirSync(join(dir, 'b.key'));
  const r = await split(keyFile, a, join(dir, 'b.key'));
  t.equal(r.code, 2, r.stderr);
  t.notOk(existsSync(a), 'the first share was not left behind');
});

t.test('generate: an existing --out is refused, nothing else written', async (t) => {
  const dir = tempDir('hw-split-out-');
  const out = join(dir, 'k.key');
  writeFileSync(out, 'not mine\n', { mode: 0o600 });
  const r = await hushwire(['oprf-key', 'generate', '--out', out]);
  t.equal(r.code, 2);
  t.equal(readFileSync(out, 'utf8'), 'not mine\n');
  t.same(readdirSync(dir), ['k.key'], 'no temp file left');
  const fresh = join(dir, 'new.key');
  const ok = await hushwire(['oprf-key', 'generate', '--out', fresh]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(readFileSync(fresh, 'utf8'), /^[0-9a-f]{64}\n$/);
  t.equal(statSync(fresh).mode & 0o777, 0o600);
  t.same(readdirSync(dir).sort(), ['k.key', 'new.key'], 'no temp file left');
});
