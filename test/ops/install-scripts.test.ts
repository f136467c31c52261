// The install-script policy (package.json `allowScripts`, read by npm 11.16+; npm skips
// the install scripts of the dependencies it denies, and npm 12 will skip every one it
// is not told to allow): every locked dependency that has an install script is named
// there, so a new one cannot come in unreviewed, and no entry is left for a package
// that is gone. The rest of the suite runs on an `npm ci` made with that policy, which
// is what shows the denied scripts are not needed (docs: README "Dependencies").
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ROOT } from '../helpers/paths.ts';

interface Locked { version?: string; hasInstallScript?: boolean; optional?: boolean; dev?: boolean }

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(`${ROOT}/package-lock.json`, 'utf8')) as { packages: Record<string, Locked> };

/** name → versions of every locked package (nested copies included). */
function locked(): Map<string, { version: string; script: boolean }[]> {
  const out = new Map<string, { version: string; script: boolean }[]>();
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '') continue; // the project itself: its postinstall applies patches/
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const list = out.get(name) ?? [];
    list.push({ version: p.version ?? '', script: p.hasInstallScript === true });
    out.set(name, list);
  }
  return out;
}

/** "name" or "name@version" (a scoped name keeps its leading @). */
function splitEntry(entry: string): { name: string; version: string | null } {
  const at = entry.lastIndexOf('@');
  return at > 0 ? { name: entry.slice(0, at), version: entry.slice(at + 1) } : { name: entry, version: null };
}

t.test('allowScripts names every locked dependency that has an install script', async (t) => {
  const policy = pkg.allowScripts ?? {};
  const entries = Object.keys(policy).map(splitEntry);
  const all = locked();
  let withScripts = 0;
  for (const [name, versions] of all) {
    for (const v of versions) {
      if (!v.script) continue;
      withScripts++;
      const covered = entries.some((e) => e.name === name && (e.version === null || e.version === v.version));
      t.ok(covered, `${name}@${v.version} has an install script and an allowScripts entry`);
    }
  }
  t.ok(withScripts > 0, 'the lockfile records install scripts (hasInstallScript), so this test can fail');
  for (const [entry, allowed] of Object.entries(policy)) {
    t.type(allowed, 'boolean', `${entry}: true or false`);
    const e = splitEntry(entry);
    const versions = all.get(e.name) ?? [];
    t.ok(versions.some((v) => v.script && (e.version === null || e.version === v.version)), `${entry} is a locked package with an install script (no stale entry)`);
  }
});

t.test('the project allows no dependency install script today', async (t) => {
  // Each denied one is unneeded: bufferutil and utf-8-validate ship prebuilt binaries
  // (ws falls back to JavaScript where none fits), and esbuild's binary comes in its
  // platform package (an optional dependency). Allowing one is a reviewed change to
  // this test and to the README.
  t.same(Object.entries(pkg.allowScripts ?? {}).filter(([, v]) => v), [], 'no entry is true');
});
