// A session with a Node process's inspector (Chrome DevTools Protocol over WebSocket, on
// loopback): the bench starts local gateways with --inspect=127.0.0.1:0 to read their
// memory after a forced GC (inspect.ts) and to sample their allocations (heap-sample.ts).
// One request per call with its own deadline, events by name, one idempotent close that
// fails whatever is still pending.
import WebSocket from 'ws';

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
