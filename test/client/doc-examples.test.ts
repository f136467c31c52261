// The TypeScript examples of docs/CLIENT.md are the first code an app developer copies:
// each ```ts block is type-checked here against the package's own exports
// ('hushwire/client', 'hushwire/client/portable', through the package's self-reference),
// with the root tsconfig's strict settings. A renamed method, a changed option or an
// import the package no longer exports fails this test, not the reader. The names a block
// leaves to the reader (askUserForSmsCode, the `number` a browser app asked for, ...) get
// declarations typed from the API itself; a block that only shows an interface
// (ProfileStore) is checked to be the exported one, both ways.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/paths.ts';

t.setTimeout(240_000);

const DOC = join(ROOT, 'docs/CLIENT.md');

/** The ```ts blocks of a Markdown text, with the line each starts on. */
export function tsBlocks(md: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`unclosed code block at line ${start}`);
    out.push({ line: start, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

/** What a block may use without defining it, typed from the API (entry: the module the
 *  block imports from). */
function placeholders(entry: string): Record<string, string> {
  return {
    askUserForSmsCode: 'declare function askUserForSmsCode(answerWithinS: number): Promise<string>;',
    warnUser: 'declare function warnUser(atMs: number): void;',
    number: 'declare const number: string;',
    verifyCode: `declare const verifyCode: NonNullable<import('${entry}').RegisterOptions['verifyCode']>;`,
    onState: `declare const onState: NonNullable<import('${entry}').ClientOptions['onState']>;`,
    onNotice: `declare const onNotice: NonNullable<import('${entry}').ClientOptions['onNotice']>;`,
  };
}

/** A block as a module of its own: the declarations of the placeholders it uses but does
 *  not define, then the block; an interface-only block is compared with the export. */
export function asModule(code: string): string {
  const entry = /from '(hushwire\/client(?:\/portable)?)'/.exec(code)?.[1] ?? 'hushwire/client';
  const iface = /^interface (\w+) \{/m.exec(code);
  if (iface && !/^import /m.test(code)) {
    const name = iface[1]!;
    return [
      `import type { ${name} as Exported, ProfileRecord } from '${entry}';`,
      code.replace(`interface ${name} {`, `interface Documented {`),
      'declare const exported: Exported;',
      'declare const documented: Documented;',
      'export const asDocumented: Documented = exported;',
      'export const asExported: Exported = documented;',
      'export type { ProfileRecord };',
    ].join('\n');
  }
  const defined = (n: string) => new RegExp(`(const|let|function|import[^;]*)\\s*[{,]?\\s*\\b${n}\\b`).test(code);
  const decls = Object.entries(placeholders(entry))
    .filter(([n]) => new RegExp(`\\b${n}\\b`).test(code) && !defined(n))
    .map(([, d]) => d);
  return `${code}\n${decls.join('\n')}\nexport {};\n`;
}

/** Type-checks `modules` (file name -> text) as the package's code is checked: in a
 *  directory inside the repository, so that 'hushwire/client' resolves through the
 *  package's self-reference and its dependencies' types are found; at its top, outside
 *  the root tsconfig's include, so a `tsc -p tsconfig.json` meanwhile never sees these
 *  files. Returns what tsc printed ('' when it found nothing wrong). */
async function typecheck(t: Test, modules: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(ROOT, '.doc-examples-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(modules)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: { rootDir: '..' },
    include: Object.keys(modules),
  }));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  return promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: ROOT, timeout: 200_000 })
    .then(() => '', (e: { stdout?: string; stderr?: string; message: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message);
}

t.test('every TypeScript example of docs/CLIENT.md type-checks against the package', async (t) => {
  const blocks = tsBlocks(readFileSync(DOC, 'utf8'));
  t.ok(blocks.length >= 3, `the guide's examples found (${blocks.length})`);
  const out = await typecheck(t, Object.fromEntries(blocks.map((b, i) => [`client-md-line-${b.line}-${i}.ts`, asModule(b.code)])));
  t.equal(out, '', 'tsc finds nothing wrong (an error names docs/CLIENT.md\'s line in the file name)');
});

t.test('the checks can fail: an example using something the package lacks is refused', async (t) => {
  const bad = [
    "import { HushwireClient } from 'hushwire/client';\nconst c = await HushwireClient.open('/p');\nawait c.sendMessage('+15550000002', 'hi');",
    'interface ProfileStore {\n  read(record: ProfileRecord): Promise<string>;\n}',
  ];
  const r = await typecheck(t, Object.fromEntries(bad.map((code, i) => [`bad-${i}.ts`, asModule(code)])));
  t.match(r, /bad-0\.ts.*sendMessage/, 'a method the client does not have');
  t.match(r, /bad-1\.ts/, 'an interface that is not the exported one');
});
