// Whether a process runs, for tests that check what a process left behind.
import { readFileSync } from 'node:fs';

/** Running and not a zombie (a zombie's parent may be gone or stuck, so kill(pid, 0)
 *  alone would call it alive). Linux: reads the state from /proc/<pid>/stat. */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
