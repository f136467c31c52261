// docs/ARCHITECTURE.md is the newcomer's map: a concept should be found in one guess.
// Two checks keep it from drifting as files come and go: every repository path it names
// exists, and every source file of the product (relay/, gateway/, client/, cli/, bin/,
// bench/, proto/, scripts/) has a place in it, named by its full path or by its file name
// in the same table row or paragraph as its directory. cli/commands/ is the one
// directory named as a whole (one file per command). The files are git's tracked ones
// (a file being written beside a commit is not yet the map's concern), or every file
// under those directories where there is no git checkout.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/paths.ts';

const DOC = 'docs/ARCHITECTURE.md';
const TOP = ['relay', 'gateway', 'client', 'cli', 'bin', 'bench', 'proto', 'scripts', 'test', 'docs', 'patches', '.ci'];
const MAPPED = ['relay', 'gateway', 'client', 'cli', 'bin', 'bench', 'proto', 'scripts'];
const DIRS_NAMED_AS_A_WHOLE = ['cli/commands/'];
const SOURCE = /\.(ts|js|mjs|proto|sh|awk)$/;

const doc = readFileSync(join(ROOT, DOC), 'utf8');

/** The doc's table rows and paragraphs, each one block of text. */
function blocks(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    if (para.trimStart().startsWith('|')) out.push(...para.split('\n'));
    else out.push(para);
  }
  return out;
}

function sourceFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--', ...MAPPED], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\0').filter((f) => SOURCE.test(f));
  } catch {
    return MAPPED.flatMap((dir) => readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && SOURCE.test(e.name) && !e.parentPath.includes('node_modules'))
      .map((e) => relative(ROOT, join(e.parentPath, e.name))));
  }
}

t.test('every path the map names exists', async (t) => {
  const re = new RegExp(`(?<![\\w./-])(?:${TOP.map((d) => d.replace('.', '\\.')).join('|')})/[A-Za-z0-9_./@+-]*`, 'g');
  const named = new Set<string>();
  for (const m of doc.matchAll(re)) named.add(m[0].replace(/[.,:;]+$/, ''));
  t.ok(named.size > 100, `found the paths (${named.size})`);
  const missing = [...named].filter((p) => !existsSync(join(ROOT, p)));
  t.same(missing, [], 'paths named in docs/ARCHITECTURE.md that do not exist');
});

t.test('every source file has a place in the map', async (t) => {
  const parts = blocks(doc);
  const unplaced: string[] = [];
  const all = sourceFiles();
  t.ok(all.length > 150, `found the source files (${all.length})`);
  for (const file of all) {
    if (doc.includes(file)) continue;
    const slash = file.lastIndexOf('/');
    const dir = file.slice(0, slash + 1);
    const name = file.slice(slash + 1);
    if (DIRS_NAMED_AS_A_WHOLE.includes(dir) && doc.includes(dir)) continue;
    const nameRe = new RegExp(`(?<![\\w.-])${name.replace(/[.+]/g, '\\$&')}(?![\\w-])`);
    if (parts.some((p) => p.includes(dir) && nameRe.test(p))) continue;
    unplaced.push(file);
  }
  t.same(unplaced, [], 'files docs/ARCHITECTURE.md does not place (add them to "Where things live")');
});
