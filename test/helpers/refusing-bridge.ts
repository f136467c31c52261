// An SMS bridge on loopback (a real node:http server on 127.0.0.1, port 0) whose answer
// a test sets: any status, headers (Retry-After) and body, for the refusal classes of
// relay/verifier/webhook.ts refusalOf. It records what each POST carried (the number,
// the code, the Authorization header) and when it came, and keeps the codes of the
// POSTs it answered 2xx (an SMS sent). Closed at `t`'s teardown.
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { bridgeCodes } from './bridge-codes.ts';

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
  const taken = bridgeCodes();
  const sockets = new Set<Socket>();
  let url = '';
  const state: RefusingBridge = {
    get url() { return url; },
    posts,
    codes: taken.codes,
    answer,
    thenOkAfter: null,
    code: taken.code,
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
      if (a.status >= 200 && a.status < 300) taken.take(sent.code);
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
