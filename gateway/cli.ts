// `hushwire gateway`: flags generated from the settings table in config.ts.
import { Command, Option } from 'commander';
import { SETTINGS, resolveConfig, ConfigError, type GatewayConfig } from './config.ts';
import { readConfigFiles, type ConfigFiles } from './config-files.ts';
import { startGateway } from './server.ts';
import { missingHeapFlags } from './heap-flags.ts';
import { keepRunningOnSighup } from './sighup.ts';

export function gatewayCommand(): Command {
  const cmd = new Command('gateway')
    .description('Run a gateway (embedded single-node bus unless --nats is given)')
    .addHelpText('after', '\nEvery flag can also be set with the HUSHWIRE_* variable shown; a flag wins over the variable.\nSIGTERM drains (lame duck): readiness fails, devices are moved away, then the process exits 0.\nSIGINT closes at once. SIGHUP does not stop it (it reads the NATS TLS and credential files again).');
  for (const s of SETTINGS) {
    const arg = s.type === 'bool' ? '' : ` <${s.unit ?? (s.type === 'list' ? 'list' : s.type === 'int' ? 'n' : 'value')}>`;
    const def = s.type === 'secret' ? '' : s.default === undefined || (Array.isArray(s.default) && s.default.length === 0) ? '' : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    // Numbers show the range resolveConfig accepts (and the unit): [500..60000 ms].
    const range = s.type === 'int' && s.min !== undefined && s.max !== undefined ? `${s.min}..${s.max}${s.unit ? ` ${s.unit}` : ''}` : s.unit;
    const o = new Option(`--${s.flag}${arg}`, `${s.help}${range ? ` [${range}]` : ''}${def} [env ${s.env}]`);
    if (s.choices) o.choices(s.choices);
    // Lists may be repeated (--oprf-evaluator a --oprf-evaluator b) as well as comma-separated.
    if (s.type === 'list') o.argParser((v: string, prev: unknown) => [...(Array.isArray(prev) ? prev as string[] : []), v]);
    cmd.addOption(o);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: GatewayConfig;
    let files: ConfigFiles;
    try {
      config = resolveConfig(opts as Partial<Record<keyof GatewayConfig, unknown>>);
      // Files and secrets too, before anything starts or logs (like `hushwire oprf`).
      files = readConfigFiles(config);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`hushwire gateway: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    await runGateway(config, files);
  });
  return cmd;
}

export async function runGateway(config: GatewayConfig, files?: ConfigFiles): Promise<void> {
  let gw;
  try {
    // The environment the settings came from: unknown HUSHWIRE_ variables are warned about.
    gw = await startGateway(config, { ...(files ? { files } : {}), env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`hushwire gateway: ${e.message}\n`);
      process.exit(2);
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`hushwire gateway: could not start: ${msg}\n`);
    process.exit(1);
  }
  // For people (npm start) on stderr: stdout carries only the JSON log lines, so a log
  // pipeline can parse all of it. The same facts are in the 'gateway listening' log line.
  process.stderr.write(`hushwire gateway listening on ${gw.url} (transport ${gw.transport}, bus ${gw.bus.kind}, ed25519 ${gw.ed25519}, resume ${gw.resume})\n`);
  const missing = missingHeapFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0) {
    gw.log.info({ missing }, 'node runs without the heap flags the gateway is measured with (npm run gateway passes them; docs/OPERATIONS.md, "Node runtime flags"): at a steady low load its heap may be collected in full every half second');
  }
  let stopping = false;
  // NATS was down at start, and once up it refuses this configuration (another
  // --mailbox-shards, too many --nats-replicas): the same as failing at start.
  void gw.busFailed.then((e) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`hushwire gateway: could not start: ${e.message}\n`);
    gw.close().finally(() => process.exit(1));
  });
  const stop = (how: 'drain' | 'now') => {
    if (stopping) return;
    stopping = true;
    const p = how === 'drain' ? gw.drain() : gw.close();
    p.then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('drain'));
  process.on('SIGINT', () => stop('now'));
  // Not Node's default (the process ends at once, without the drain): gateway/sighup.ts.
  keepRunningOnSighup(gw.log, 'SIGTERM drains and stops it', files?.nats);
}
