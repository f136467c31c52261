// An SMS bridge on loopback (a real node:http server on 127.0.0.1, port 0) whose answer
// a test sets: any status, headers (Retry-After) and body, for the refusal classes of
// relay/verifier/webhook.ts refusalOf. It records what each POST carried (the number,
// the code, the Authorization header) and when it came, and keeps the codes of the
// POSTs it answered 2xx (an SMS sent). Closed at `t`'s teardown.
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface BridgeAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as the answer's body (a bridge's error page, echoing what it was sent). */
  body?: string;
}

export interface BridgePost {
  number: string;
  code: string;
  authorization: string | undefined;
  /** performance.now() when the request had been read. */
  at: number;
}

export interface RefusingBridge {
  readonly url: string;
  readonly posts: readonly BridgePost[];
  /** Codes of the POSTs answered 2xx, in order. */
  readonly codes: readonly string[];
  /** What the next POSTs are answered (default 204). */
  answer: BridgeAnswer;
  /** After this many more POSTs answered as `answer`, the bridge answers 204 (null:
   *  never). */
  thenOkAfter: number | null;
  /** The n-th code sent (0-based), once it is; rejects after `timeoutMs`. */
  code(n: number, timeoutMs?: number): Promise<string>;
}

export async function startRefusingBridge(t: { teardown(fn: () => unknown): void }, answer: BridgeAnswer = { status: 204 }): Promise<RefusingBridge> {
  const posts: BridgePost[] = [];
  const codes: string[] = [];
  let waiters: Array<() => void> = [];
  const sockets = new Set<Socket>();
  let url = '';
  const state: RefusingBridge = {
    get url() { return url; },
    posts,
    codes,
    answer,
    thenOkAfter: null,
    code(n: number, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no verification code #${n} within ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          if (codes.length > n) {
            clearTimeout(timer);
            resolve(codes[n]!);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      const sent = JSON.parse(body) as { number: string; code: string };
      posts.push({ number: sent.number, code: sent.code, authorization: req.headers.authorization, at: performance.now() });
      let a = state.answer;
      if (state.thenOkAfter !== null) {
        if (state.thenOkAfter <= 0) a = { status: 204 };
        else state.thenOkAfter--;
      }
      if (a.status >= 200 && a.status < 300) {
        codes.push(sent.code);
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      }
      res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`;
  return state;
}
