// A session with a Node process's inspector (Chrome DevTools Protocol over WebSocket, on
// loopback): the bench starts local gateways with --inspect=127.0.0.1:0 to read their
// memory after a forced GC (inspect.ts) and to profile their allocations and CPU over a
// measured phase (phase-profile.ts). One request per call with its own deadline, events
// by name, one idempotent close that fails whatever is still pending.
import WebSocket from 'ws';
import { SourceMap } from 'node:module';

/** In a process's stderr when --inspect is on. */
export const INSPECTOR_LINE = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/;

export const CALL_DEADLINE_MS = 30_000;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class InspectorSession {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #events = new Map<string, (params: Record<string, unknown>) => void>();
  #next = 1;
  #closed = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer) => {
      let m: { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message?: string } };
      try {
        m = JSON.parse(data.toString('utf8')) as typeof m;
      } catch {
        return;
      }
      if (m.id === undefined) {
        if (m.method !== undefined) this.#events.get(m.method)?.(m.params ?? {});
        return;
      }
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(`inspector: ${m.error.message ?? 'error'}`));
      else p.resolve(m.result);
    });
    ws.on('close', () => this.close());
    ws.on('error', () => this.close());
  }

  /** Opens a session; `maxPayload` bounds one message (a heap snapshot chunk, a profile). */
  static open(url: string, maxPayload = 1 << 30): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('inspector did not open'));
      }, CALL_DEADLINE_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new InspectorSession(ws));
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** One protocol method; rejects on an error answer, a closed session or the deadline. */
  call(method: string, params: Record<string, unknown> = {}, deadlineMs = CALL_DEADLINE_MS): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('inspector closed'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} did not answer`));
      }, deadlineMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Calls fn with the params of every `method` event (one handler per event name). */
  on(method: string, fn: (params: Record<string, unknown>) => void): void {
    this.#events.set(method, fn);
  }

  /** Idempotent: fails whatever is pending and closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('inspector closed'));
    }
    this.#pending.clear();
    this.#ws.terminate();
  }
}

/** A function's position in a V8 profile (heap or CPU): 0-based line and column of
 *  where it starts, in the script V8 ran. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
  scriptId?: string;
}

/** Rewrites the frames' positions from the code V8 ran to the source files, through the
 *  scripts' inline source maps. The gateways run TypeScript through tsx, whose esbuild
 *  output is one line per module: every function read "relay/session.ts:1". The maps
 *  come from the process itself (Debugger.scriptParsed, sent for every loaded script on
 *  Debugger.enable; the debugger is disabled again at once). Returns the frames that
 *  were mapped; frames without a map (node's own, plain JavaScript) keep their
 *  positions, and so do all of them when the maps cannot be read. */
export async function toSourcePositions(s: InspectorSession, frames: Iterable<CallFrame>): Promise<Set<CallFrame>> {
  const mapped = new Set<CallFrame>();
  const byScript = new Map<string, CallFrame[]>();
  for (const f of frames) {
    const id = f.scriptId;
    if (id === undefined || id === '0' || !f.url.startsWith('file://')) continue;
    const list = byScript.get(id);
    if (list === undefined) byScript.set(id, [f]);
    else list.push(f);
  }
  if (byScript.size === 0) return mapped;
  const maps = new Map<string, string>();
  s.on('Debugger.scriptParsed', (p) => {
    const id = String(p['scriptId']);
    const url = String(p['sourceMapURL'] ?? '');
    if (byScript.has(id) && url.startsWith('data:application/json')) maps.set(id, url);
  });
  try {
    await s.call('Debugger.enable');
    await s.call('Debugger.disable');
  } catch {
    return mapped;
  }
  for (const [id, url] of maps) {
    let map: SourceMap;
    try {
      const comma = url.indexOf(',');
      const body = url.slice(comma + 1);
      map = new SourceMap(JSON.parse(url.slice(0, comma).endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body)) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      continue;
    }
    for (const f of byScript.get(id) ?? []) {
      const e = map.findEntry(f.lineNumber, f.columnNumber ?? 0) as { originalLine?: number; originalColumn?: number };
      if (e.originalLine === undefined) continue;
      f.lineNumber = e.originalLine;
      f.columnNumber = e.originalColumn ?? 0;
      mapped.add(f);
    }
  }
  return mapped;
}
