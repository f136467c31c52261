// The webhook verifier's answer body (relay/verifier/webhook.ts): only the status
// counts, so at most 64 KiB of the body is read and the rest is not. Before, the whole
// body was read into memory: a bridge (or a proxy in front of it) answering 200 with a
// large or endless body cost the gateway that memory per verification, and the start
// waited until --verifier-timeout-ms although the bridge had said the code was sent.
import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookVerifier } from '../../relay/verifier/webhook.ts';
import { within } from '../helpers/poll.ts';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

t.test('an endless 200 body: the delivery succeeds without reading it all', async (t) => {
  let sent = 0;
  let cut: () => void = () => undefined;
  const cutShort = new Promise<void>((r) => { cut = r; });
  const server = createServer((req, res: ServerResponse) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    // As fast as the client reads, until it stops reading.
    const more = (): void => {
      while (!res.destroyed) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) break;
      }
    };
    res.on('drain', more);
    res.on('close', () => cut());
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
  // A deadline far beyond the test's: the delivery must not need it.
  const verifier = createWebhookVerifier({ url, timeoutMs: 600_000 });
  t.teardown(() => verifier.close());

  t.same(await within(verifier.deliver('+15550109999', '123456'), 20_000, 'the delivery'), {}, 'a 2xx: the code was sent');
  await within(cutShort, 20_000, 'the gateway to stop reading the body');
  t.pass('the gateway stopped reading the endless body');
  t.ok(sent < 64 * 1024 * 1024, `the bridge wrote ${sent} bytes before the gateway stopped reading`);
});
