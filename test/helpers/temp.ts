// Temp directories for tests, removed when the test process exits (tap runs each test
// file in a process of its own), so repeated runs do not fill /tmp. For helpers that
// have no `t` to register a teardown with (profiles, key files), and tests alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExit } from 'signal-exit';

const dirs = new Set<string>();
let hooked = false;

/** A new directory under the OS temp dir, named `prefix` + six random characters. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  if (!hooked) {
    hooked = true;
    // At the process's end, also by a signal (signal-exit, as tap's own reporting).
    onExit(() => {
      for (const d of dirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          // best effort: the process is ending
        }
      }
    });
  }
  return dir;
}

/** A writer of 0600 files in `dir` (secrets and settings files a test hands to a
 *  process): `file(name, text)` writes and returns the path. */
export function privateFileWriter(dir: string): (name: string, text: string) => string {
  return (name, text) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
}
