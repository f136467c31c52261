// Whether a process runs, for tests that check what a process left behind.
import { readdirSync, readFileSync } from 'node:fs';

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

/** Every descendant of `root` (from /proc), children before their own children: what a
 *  test that started `root` may end by pid when something outlived it. Linux. */
export function descendants(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(name)]);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) for (const c of byParent.get(queue.shift()!) ?? []) { out.push(c); queue.push(c); }
  return out;
}
