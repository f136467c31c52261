// Config: defaults, precedence, validation with one clear line, and the docs table.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS, resolveConfig, defaultConfig, ConfigError } from '../../gateway/config.ts';
import { ROOT } from '../helpers/paths.ts';

t.test('defaults', async (t) => {
  const c = defaultConfig();
  t.equal(c.port, 8480);
  t.equal(c.host, '127.0.0.1');
  t.same(c.nats, []);
  t.equal(c.transport, 'auto');
  t.equal(c.verifier, 'dev');
  t.equal(c.mailboxMaxAgeS, 30 * 86400);
});

t.test('flag beats environment beats default', async (t) => {
  t.equal(resolveConfig({}, { HUSHWIRE_PORT: '9000' }).port, 9000);
  t.equal(resolveConfig({ port: '9001' }, { HUSHWIRE_PORT: '9000' }).port, 9001);
  t.same(resolveConfig({}, { HUSHWIRE_NATS: 'nats://a:1, nats://b:2', HUSHWIRE_OPRF_KEY: 'x' }).nats, ['nats://a:1', 'nats://b:2']);
});

t.test('invalid values fail with one line naming the setting', async (t) => {
  const bad: [Record<string, unknown>, Record<string, string>, RegExp][] = [
    [{ port: 'abc' }, {}, /--port must be a whole number/],
    [{}, { HUSHWIRE_PORT: '70000' }, /HUSHWIRE_PORT must be at most 65535/],
    [{ transport: 'quic' }, {}, /--transport must be one of auto, uws, ws/],
    [{ verifier: 'webhook' }, {}, /--verifier-url/],
    [{ idleTimeoutS: '10' }, {}, /multiple of 4/],
    [{ nats: 'nats://127.0.0.1:4222' }, {}, /--oprf-key-file/],
    [{ maxFrameBytes: '2000', maxEnvelopeBytes: '1500' }, {}, /--max-frame-bytes must exceed/],
    [{ natsPrefix: 'a.b' }, {}, /--nats-prefix/],
    [{ maxSendBuffersBytes: '1000' }, {}, /--max-send-buffers-bytes must be at least/],
  ];
  for (const [flags, env, re] of bad) {
    let err: unknown;
    try {
      resolveConfig(flags as never, env);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError, `${re} is a ConfigError`);
    t.match((err as Error).message, re);
    t.notMatch((err as Error).message, /\n/, 'one line');
  }
});

t.test('every setting is documented in docs/OPERATIONS.md with its env variable', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  for (const s of SETTINGS) {
    t.ok(doc.includes(`\`--${s.flag}\``), `--${s.flag} documented`);
    t.ok(doc.includes(`\`${s.env}\``), `${s.env} documented`);
    t.ok(s.env.startsWith('HUSHWIRE_'));
  }
});
