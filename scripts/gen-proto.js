#!/usr/bin/env node
// Regenerates proto/gen/hushwire.js and hushwire.d.ts from proto/hushwire.proto with
// protobufjs static code generation. The output is committed so that running Hushwire
// needs only the small protobufjs/minimal runtime. `--check` fails if the committed
// output is stale (CI runs it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'node_modules', '.bin');
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'hw-proto-')) : join(root, 'proto', 'gen');
// --check writes into a temp dir of its own: removed however the script ends.
if (check) process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
const js = join(outDir, 'hushwire.js');
const dts = join(outDir, 'hushwire.d.ts');

execFileSync(join(bin, 'pbjs'), [
  '-t', 'static-module', '-w', 'es6', '--es6', '--force-number',
  '--no-delimited', '--no-verify', '--no-convert', '--no-service',
  '-o', js, join(root, 'proto', 'hushwire.proto'),
], { stdio: 'inherit' });
// pbjs emits `import * as $protobuf from "protobufjs/minimal"`; Node ESM needs the .js path.
let src = readFileSync(js, 'utf8').replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"');
// 64-bit fields decode as JavaScript numbers, as the --force-number types already say.
// With long.js installed protobufjs would hand back Long objects instead, which the types
// hide: Number(long) then goes through a decimal string (~0.3 µs and several objects per
// field; every authentication read three), and `===` against a number is always false.
// Hushwire's 64-bit fields are millisecond timestamps and sequence numbers, far below
// 2^53. Set before the generated code runs, as its zero defaults read util.Long.
src = src.replace(/^(import \$protobuf from "protobufjs\/minimal.js";\n)/m,
  '$1\n// 64-bit fields as numbers (scripts/gen-proto.js says why).\n$protobuf.util.Long = null;\n$protobuf.configure();\n');
if (!src.includes('$protobuf.util.Long = null;')) throw new Error('gen-proto: the protobufjs import line changed; update the Long setting');
writeFileSync(js, src);
execFileSync(join(bin, 'pbts'), ['--no-comments', '-o', dts, js], { stdio: 'inherit' });
let types = readFileSync(dts, 'utf8').replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"');
writeFileSync(dts, types);

if (check) {
  for (const f of ['hushwire.js', 'hushwire.d.ts']) {
    const want = readFileSync(join(outDir, f), 'utf8');
    const have = readFileSync(join(root, 'proto', 'gen', f), 'utf8');
    if (want !== have) {
      console.error(`proto/gen/${f} is stale: run npm run proto`);
      process.exit(1);
    }
  }
  console.log('proto/gen is up to date');
}
