// Reading the files that settings name (keys, tokens, passwords, certificates), for the
// gateway (gateway/config-files.ts) and for the NATS connection settings both processes
// share (relay/nats-connect-options.ts). One line naming the flag and the path on any
// problem, never the contents: the files hold secrets.
import { closeSync, openSync, readSync } from 'node:fs';

/** A setting whose value or file cannot be used; the message is one line that starts
 *  with the flag (`--flag: ...`). Each command turns it into its own exit 2. */
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/**
 * The text of the file `--flag` names, at most `maxBytes` (a bound keeps a wrong path,
 * /dev/zero or a log file, from being read into memory whole). Throws SettingError
 * "--flag: cannot read PATH: no such file" (or the reason), or, over the bound,
 * "--flag: PATH is larger than N bytes; <tooLarge>".
 */
export function readSettingText(flag: string, path: string, maxBytes: number, tooLarge: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(8192);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new SettingError(`--${flag}: ${path} is larger than ${maxBytes} bytes; ${tooLarge}`);
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof SettingError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new SettingError(`--${flag}: cannot read ${path}: ${ERRNO_WORDS[code] ?? (code || 'unreadable')}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
