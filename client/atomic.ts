// Crash-safe file replacement: write a private temp file in the same directory, fsync
// it, rename it over the target. rename(2) within one directory is atomic, so a reader
// (or a handset that crashed mid-write) sees either the old file or the new one, never
// a torn one. The temp file is created 0600 from the start: secrets never exist, even
// briefly, with looser permissions.
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    // The umask may have narrowed `mode` further but never widens it; chmod makes the
    // result exact regardless of the umask.
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  // Persist the rename itself; best effort (not every file system supports it).
  try {
    const dh = await open(dirname(path), 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch { /* directory fsync unsupported */ }
}
