// Picks the WebSocket library: uWebSockets.js if any build of it loads, else ws.
//
// uWebSockets.js is not on the npm registry; two republishes are installed as optional
// dependencies and neither loads everywhere:
// - `uWebSockets.js` (npm alias of @btc-vision/uwebsockets.js 20.57.0): Node 20-25, but its
//   binaries need glibc >= 2.38 (Debian 13, Ubuntu 24.04).
// - @trufflesuite/uws-js-unofficial 20.30.0: Node 16/18/20, glibc >= 2.32. Its package
//   entry silently swaps in a JavaScript emulation on ws when the binary fails (and warns
//   on the console), so we load its native binary directly: "uws" must mean the real one.
// Both are CommonJS native modules, loaded with require(): on Node 20 a dynamic import()
// of a CJS module that throws while loading rejects *and* crashes the process later.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Transport, TransportKind, TransportOptions } from './transport.ts';
import { createUwsTransport, type UwsModule } from './uws.ts';
import { createWsTransport } from './ws.ts';
import { explainLoadFailure as explain } from '../../relay/native-load.ts';

const require = createRequire(import.meta.url);

export type UwsLoad =
  | { ok: true; uws: UwsModule; name: string; version: string; notes: string[] }
  | { ok: false; notes: string[] };

let cached: UwsLoad | null = null;

function packageVersion(pkgJsonPath: () => string): string {
  try {
    const v = (JSON.parse(readFileSync(pkgJsonPath(), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

function looksLikeUws(m: unknown): m is UwsModule {
  const u = m as Partial<UwsModule> | null;
  return !!u && typeof u.App === 'function' && typeof u.us_listen_socket_close === 'function'
    && typeof u.us_socket_local_port === 'function' && typeof u.DISABLED === 'number';
}

/** Loads the first uWebSockets.js build that works here (once per process). */
export function loadUws(): UwsLoad {
  if (cached) return cached;
  const notes: string[] = [];

  const aliasVersion = packageVersion(() => join(dirname(require.resolve('uWebSockets.js')), 'package.json'));
  try {
    const m: unknown = require('uWebSockets.js');
    if (!looksLikeUws(m)) throw new Error('unexpected module shape');
    cached = { ok: true, uws: m, name: 'uWebSockets.js', version: aliasVersion, notes };
    return cached;
  } catch (e) {
    notes.push(`uWebSockets.js ${aliasVersion} failed to load (${explain(e)})`);
  }

  const truffle = '@trufflesuite/uws-js-unofficial';
  const truffleVersion = packageVersion(() => require.resolve(`${truffle}/package.json`));
  try {
    const m: unknown = require(`${truffle}/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    if (!looksLikeUws(m)) throw new Error('unexpected module shape');
    cached = { ok: true, uws: m, name: truffle, version: truffleVersion, notes };
    return cached;
  } catch (e) {
    notes.push(`${truffle} ${truffleVersion} failed to load (${explain(e)})`);
  }

  cached = { ok: false, notes };
  return cached;
}

/** Whether some uWebSockets.js build loads in this process. */
export async function uwsAvailable(): Promise<boolean> {
  return loadUws().ok;
}

export interface LoadedTransport {
  transport: Transport;
  kind: TransportKind;
  /** One line for the start-up log and /metrics: which library runs and why. */
  why: string;
}

export async function loadTransport(kind: 'uws' | 'ws' | 'auto', opts: TransportOptions): Promise<LoadedTransport> {
  const wsVersion = packageVersion(() => require.resolve('ws/package.json'));
  if (kind === 'ws') {
    return { transport: createWsTransport(opts), kind: 'ws', why: `using ws ${wsVersion} (requested)` };
  }
  const u = loadUws();
  if (u.ok) {
    const why = [...u.notes, `using ${u.name} ${u.version}`].join('; ');
    return { transport: createUwsTransport(u.uws, opts), kind: 'uws', why };
  }
  if (kind === 'uws') {
    throw new Error(`transport "uws" requested but no uWebSockets.js build loads here: ${u.notes.join('; ')}`
      + '; use transport "ws" or "auto"');
  }
  return { transport: createWsTransport(opts), kind: 'ws', why: [...u.notes, `using ws ${wsVersion}`].join('; ') };
}
