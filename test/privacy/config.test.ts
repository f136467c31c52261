// Privacy settings: defaults as documented, mapping to the privacy options, and the
// --dedup-key-file loader (64 hex chars; clear errors that never echo the file).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, defaultConfig, ConfigError } from '../../gateway/config.ts';
import { privacyOptions, dedupKeyOption } from '../../gateway/privacy-config.ts';
import { DEFAULT_PRIVACY } from '../../relay/privacy/options.ts';
import { tempDir } from '../helpers/temp.ts';

t.test('defaults match the privacy defaults', async (t) => {
  const c = defaultConfig();
  const o = privacyOptions(c);
  t.equal(o.discoveryFirstSync, DEFAULT_PRIVACY.discoveryFirstSync);
  t.equal(o.discoveryDaily, DEFAULT_PRIVACY.discoveryDaily);
  t.equal(o.discoveryRouteDaily, DEFAULT_PRIVACY.discoveryRouteDaily);
  t.equal(o.verifyStartsPerNumber, DEFAULT_PRIVACY.verifyStartsPerNumber);
  t.equal(o.deviceIdleExpiryMs, DEFAULT_PRIVACY.deviceIdleExpiryMs, '180 days');
  t.same(dedupKeyOption(c), {}, 'no dedup key by default (a per-process one)');
});

t.test('flags and environment', async (t) => {
  const c = resolveConfig({ discoveryDaily: '7' }, { HUSHWIRE_DEVICE_IDLE_EXPIRY_S: '60', HUSHWIRE_DISCOVERY_DAILY: '9' });
  t.equal(c.discoveryDaily, 7, 'a flag wins over the variable');
  t.equal(privacyOptions(c).deviceIdleExpiryMs, 60_000);
  t.throws(() => resolveConfig({ discoveryFirstSync: '0' }, {}), ConfigError);
  t.throws(() => resolveConfig({}, { HUSHWIRE_VERIFY_STARTS_PER_NUMBER: 'many' }), ConfigError);
});

t.test('--dedup-key-file', async (t) => {
  const dir = tempDir('hw-dedup-');
  const good = join(dir, 'good');
  writeFileSync(good, `${'ab'.repeat(32)}\n`);
  const key = dedupKeyOption(resolveConfig({ dedupKeyFile: good }, {})).msgIdKey;
  t.equal(key?.length, 32);
  t.equal(Buffer.from(key!).toString('hex'), 'ab'.repeat(32));
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'secret-looking-but-wrong');
  try {
    dedupKeyOption(resolveConfig({ dedupKeyFile: bad }, {}));
    t.fail('should refuse');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    t.notOk((e as Error).message.includes('secret-looking'), 'the error does not echo the file');
  }
  t.throws(() => dedupKeyOption(resolveConfig({ dedupKeyFile: join(dir, 'missing') }, {})), ConfigError);
});
