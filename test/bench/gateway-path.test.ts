// `--gateway` with a wrong path: the gateway answers the WebSocket upgrade with 404, and
// the bench's failed row said only ws's "Unexpected server response: 404", which names
// neither what answered nor what to check. It now says the gateway answered HTTP 404
// and where a gateway serves WebSockets.
import t from 'tap';
import { spawnGateway } from '../helpers/gateway.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(60_000);

t.test('a --gateway URL with a wrong path: the failure says what answered and what to check', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  const wrong = gw.url.replace(/\/ws$/, '/nope');
  t.not(wrong, gw.url, 'a wrong path');
  const r = await bench(['--gateway', wrong, '--peers', 'none', '--pairs', '1', '--duration', '1', '--warmup', '0', '--grace', '1', '--workers', '1'], 40_000);
  t.equal(r.code, 1, 'every run failed: exit 1');
  t.match(r.stdout, /^hushwire\s+chat\s.*failed: the gateway answered HTTP 404 to the WebSocket upgrade \(a gateway serves them at its --path, \/ws by default: is the --gateway URL's path right\?\)$/m, 'the row says so');
  t.notMatch(r.stderr, /Unexpected server response/);
});
