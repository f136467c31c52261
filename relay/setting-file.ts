// Reading the files that settings name (keys, tokens, passwords, certificates), for the
// gateway (gateway/config-files.ts) and for the NATS connection settings both processes
// share (relay/nats-connect-options.ts). One line naming the flag and the path on any
// problem, never the contents: the files hold secrets.
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';

/** A setting whose value or file cannot be used; the message is one line that starts
 *  with the flag (`--flag: ...`). Each command turns it into its own exit 2. */
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

/** The bound on a key or token file (they are a line long): 64 KiB, for the gateway's
 *  setting files (gateway/config-files.ts) and the OPRF key files of the gateway,
 *  `hushwire oprf` and `hushwire oprf-key` (relay/evaluator.ts, readOprfKeyFile); the
 *  NATS secret files (relay/nats-connect-options.ts). */
export const SETTING_FILE_MAX_BYTES = 64 * 1024;

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

/** How long a setting file that is not a regular file (a FIFO, a process
 *  substitution's pipe, a device) may take to give its text up to its end: 10 s. */
export const SETTING_PIPE_DEADLINE_MS = 10_000;

/** Blocks this thread for `ms` (start-up only: the files are read before serving). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The text of the file `--flag` names, at most `maxBytes` (a bound keeps a wrong path,
 * /dev/zero or a log file, from being read into memory whole). Throws SettingError
 * "--flag: cannot read PATH: no such file" (or the reason), or, over the bound,
 * "--flag: PATH is larger than N bytes; <tooLarge>".
 * `onMode`, for a file that holds a secret: called with the permission bits of the file
 * opened (after symbolic links, as a Kubernetes secret volume has them), before it is read.
 *
 * A file that is not a regular one is opened without blocking and read within
 * SETTING_PIPE_DEADLINE_MS: a named FIFO nobody writes to used to block the process at
 * its open, with no deadline. Before its first byte, a FIFO's end of file means no writer
 * yet, so a writer that comes after the open (`mkfifo k; ... & cat key > k`) is waited
 * for; a process substitution (`--flag <(vault read ...)`) is such a pipe too.
 */
export function readSettingText(flag: string, path: string, maxBytes: number, tooLarge: string, onMode?: (mode: number) => void): string {
  let fd: number | undefined;
  try {
    // O_NONBLOCK changes nothing for a regular file; Windows has none (and no FIFOs).
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
    const stat = fstatSync(fd);
    if (onMode) onMode(stat.mode & 0o777);
    const pipe = stat.isFIFO();
    const deadline = stat.isFile() ? Infinity : Date.now() + SETTING_PIPE_DEADLINE_MS;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(8192);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        n = -1; // nothing there yet
      }
      if (n === 0 && !(pipe && total === 0)) break;
      if (n <= 0) {
        if (Date.now() >= deadline) {
          throw new SettingError(`--${flag}: ${path} (not a regular file) gave ${total === 0 ? 'nothing' : 'no end of file'} within ${SETTING_PIPE_DEADLINE_MS / 1000} s`);
        }
        sleepSync(10);
        continue;
      }
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

/** A secret file's permission bits when group or others have any access to it (mode &
 *  0o077), else null; always null where files have no POSIX modes (Windows). The
 *  processes warn about such files and use them anyway: a Kubernetes secret volume is
 *  0644 unless its defaultMode says otherwise, and the operator may not control it. */
export function looseSecretMode(mode: number): number | null {
  if (process.platform === 'win32') return null;
  const bits = mode & 0o777;
  return (bits & 0o077) !== 0 ? bits : null;
}

/** The warning for a secret file `flag` ("--oprf-key-file") whose mode is `mode`:
 *  `config: --oprf-key-file is readable by group or others (mode 0644): chmod 600 it`.
 *  The flag only: no path (the operator set it) and never the contents. */
export function looseSecretModeMessage(flag: string, mode: number): string {
  return `config: ${looseSecretModeText(flag, mode)}`;
}

/** The same without the `config: ` of a process's log line, for the CLI's
 *  `warning: ...` lines (`hushwire oprf-key`): `--key-file is readable by group or
 *  others (mode 0644): chmod 600 it`. */
export function looseSecretModeText(flag: string, mode: number): string {
  const bits = mode & 0o777;
  const how = (bits & 0o044) !== 0 ? 'readable by' : 'open to';
  return `${flag} is ${how} group or others (mode ${octalMode(bits)}): chmod 600 it`;
}

/** 0644 as text. */
export function octalMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
