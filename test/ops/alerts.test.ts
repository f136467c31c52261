// The Prometheus alerting rules operators load (docs/prometheus/alerts.yml): promtool
// accepts them and their unit tests pass (each alert fires on a series showing its
// condition and stays quiet on one that does not: alerts.test.yml), and every metric an
// expression names is one that Hushwire really exports, read from a running gateway's
// /metrics and from the OPRF evaluator's and the OPRF client's registries.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ROOT } from '../helpers/paths.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { createRemoteMetrics } from '../../relay/evaluator-remote.ts';
import { OprfService } from '../../relay/oprf-service.ts';
import { generateServerKey } from '../../relay/crypto/oprf.ts';
import { createLogger } from '../../relay/log.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { makeTlsFiles } from '../helpers/tls-certs.ts';
import { makeNatsOperator } from '../helpers/nats-jwt.ts';
import { tempDir } from '../helpers/temp.ts';

const DIR = join(ROOT, 'docs', 'prometheus');
const RULES = join(DIR, 'alerts.yml');

/** promtool from scripts/test.sh ($PROMTOOL), the PATH, or its cache; null if none. */
function promtool(): string | null {
  const candidates = [process.env['PROMTOOL'], join(ROOT, '.cache', 'promtool', 'promtool')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const r = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? 'promtool' : null;
}

const tool = promtool();
const noTool = tool === null ? 'promtool not found (npm test installs it from Debian\'s prometheus package)' : false;

t.test('promtool checks the rules', { skip: noTool }, async (t) => {
  const r = spawnSync(tool!, ['check', 'rules', RULES], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, `promtool check rules: ${r.stdout}${r.stderr}`);
  t.match(r.stdout, /SUCCESS: \d+ rules found/);
});

t.test('promtool unit tests: every alert fires where it should and only there', { skip: noTool }, async (t) => {
  const r = spawnSync(tool!, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, `promtool test rules: ${r.stdout}${r.stderr}`);
  t.match(r.stdout, /SUCCESS/);
  // Every alert in the rules has at least one firing case in the tests.
  const alerts = [...readFileSync(RULES, 'utf8').matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);
  const tests = readFileSync(join(DIR, 'alerts.test.yml'), 'utf8');
  t.ok(alerts.length >= 15, `${alerts.length} alerts`);
  for (const a of alerts) {
    const fires = new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(tests);
    t.ok(fires, `${a} has a test case where it fires`);
  }
});

/** Metric family names in Prometheus text exposition format. */
function familiesOf(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
}

t.test('every metric the rules name is exported', async (t) => {
  const known = new Set<string>();
  // A real gateway's /metrics (embedded bus: everything but the remote-OPRF client).
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const res = await fetch(`http://127.0.0.1:${gw.port}/metrics`);
  t.equal(res.status, 200);
  for (const n of familiesOf(await res.text())) known.add(n);
  t.ok(known.has('hushwire_connections_limit'), 'the gateway exports its --max-connections');
  // The gateway's client of remote evaluators (--oprf-evaluator), same registry code.
  const remote = new Registry();
  createRemoteMetrics(remote, ['e1']);
  for (const n of familiesOf(await remote.metrics())) known.add(n);
  // The `hushwire oprf` evaluator's own registry (not started: no NATS needed).
  const svc = new OprfService({
    servers: ['nats://127.0.0.1:1'], id: 'alerts-test', prefix: 'hw', key: generateServerKey(),
    threads: 1, maxBatch: 10, maxQueuedElements: 10, name: 'alerts-test',
    log: createLogger({ level: 'silent', name: 'hushwire-oprf' }),
  });
  t.teardown(() => svc.close());
  for (const n of familiesOf(await svc.registry.metrics())) known.add(n);
  // Registered by gateways and evaluators only with --nats-tls-cert-file, TLS required
  // and --nats-creds-file (real ones in test/faults/nats-credential-rotation.test.ts and
  // test/bus/nats-creds-login.test.ts): an evaluator given all three, not started.
  const f = makeTlsFiles();
  const creds = join(tempDir('hw-alerts-'), 'oprf.creds');
  writeFileSync(creds, makeNatsOperator().user('alerts', { expiresS: Math.floor(Date.now() / 1000) + 86_400 }).creds, { mode: 0o600 });
  const withAccess = new OprfService({
    servers: ['tls://127.0.0.1:1'], id: 'alerts-access', prefix: 'hw', key: generateServerKey(),
    threads: 1, maxBatch: 10, maxQueuedElements: 10, name: 'alerts-access',
    log: createLogger({ level: 'silent', name: 'hushwire-oprf' }),
    access: readNatsAccess({ nats: ['tls://127.0.0.1:1'], natsTlsCaFile: f.ca, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey, natsCredsFile: creds }),
  });
  t.teardown(() => withAccess.close());
  const accessFamilies = familiesOf(await withAccess.registry.metrics());
  for (const n of ['hushwire_nats_client_cert_expiry_seconds', 'hushwire_nats_user_jwt_expiry_seconds', 'hushwire_nats_server_cert_expiry_seconds', 'hushwire_nats_refused_connects_total']) {
    t.ok(accessFamilies.has(n), `hushwire oprf exports ${n} with its NATS access files`);
  }
  for (const n of accessFamilies) known.add(n);

  const rules = readFileSync(RULES, 'utf8');
  const exprs = [...rules.matchAll(/expr: (?:\|\n((?:\s{10,}.*\n)+)|(.*)\n)/g)].map((m) => m[1] ?? m[2] ?? '');
  t.ok(exprs.length >= 15, `${exprs.length} expressions`);
  const named = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\b(hushwire_[a-z0-9_]+)\b/g)) named.add(m[1]!);
  t.ok(named.size >= 15, `${named.size} metric names in the expressions`);
  for (const n of named) {
    const family = n.replace(/_(bucket|sum|count)$/, '');
    t.ok(known.has(n) || known.has(family), `${n} is exported`);
  }
});
