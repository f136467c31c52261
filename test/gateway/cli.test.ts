// `hushwire gateway` as an operator runs it (child processes): stdout carries only
// JSON log lines, whatever the log level, and the human start-up line goes to stderr.
import t from 'tap';
import { spawnGateway } from '../helpers/gateway.ts';

t.setTimeout(120_000);

/** The lines of `text` that are not JSON objects. */
function notJson(text: string): string[] {
  return text.split('\n').filter((l) => l !== '').filter((l) => {
    try {
      const o = JSON.parse(l) as unknown;
      return typeof o !== 'object' || o === null;
    } catch {
      return true;
    }
  });
}

t.test('stdout is JSON lines only; the human start-up line is on stderr', async (t) => {
  for (const level of ['info', 'warn']) {
    await t.test(`--log-level ${level}`, async (t) => {
      const gw = await spawnGateway(['--transport', 'ws', '--log-level', level]);
      t.teardown(() => gw.kill('SIGKILL'));
      t.equal(await gw.kill('SIGTERM'), 0, 'drains and exits 0');
      t.same(notJson(gw.stdout()), [], 'every stdout line is a JSON object');
      t.notMatch(gw.stdout(), /hushwire gateway listening on/, 'no plain-text line on stdout');
      t.match(gw.output(), new RegExp(`hushwire gateway listening on ${gw.url.replace(/[.]/g, '\\.')} \\(transport ws, bus embedded, ed25519 \\w+\\)`), 'the human line (stderr)');
      const lines = gw.stdout().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const listening = lines.find((o) => o['msg'] === 'gateway listening');
      if (level === 'info') {
        t.match(listening, { level: 30, url: gw.url, transport: 'ws', bus: 'embedded', ed25519: /^(libsodium|openssl)$/, port: Number }, 'the same facts as a log line');
      } else {
        t.equal(listening, undefined, 'an info line, not shown at warn');
      }
    });
  }
});
