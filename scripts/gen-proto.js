#!/usr/bin/env node
// Regenerates proto/gen/hushwire.js and hushwire.d.ts from proto/hushwire.proto with
// protobufjs static code generation. The output is committed so that running Hushwire
// needs only the small protobufjs/minimal runtime. `--check` fails if the committed
// output is stale (CI runs it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'node_modules', '.bin');
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'hw-proto-')) : join(root, 'proto', 'gen');
const js = join(outDir, 'hushwire.js');
const dts = join(outDir, 'hushwire.d.ts');

execFileSync(join(bin, 'pbjs'), [
  '-t', 'static-module', '-w', 'es6', '--es6', '--force-number',
  '--no-delimited', '--no-verify', '--no-convert', '--no-service',
  '-o', js, join(root, 'proto', 'hushwire.proto'),
], { stdio: 'inherit' });
// pbjs emits `import * as $protobuf from "protobufjs/minimal"`; Node ESM needs the .js path.
let src = readFileSync(js, 'utf8').replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"');
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
