// `hushwire nats-permissions`: prints the NATS permissions of one role for the settings
// given (the body of a user's `permissions` map in nats-server's config; see
// relay/nats-permissions-config.ts). docs/nats/*.conf are its output for the defaults.
import { Command, InvalidArgumentError, Option } from 'commander';
import { natsPermissions, PERMISSION_ROLES, type PermissionRole } from '../../relay/nats-permissions-config.ts';
import { MAX_MAILBOX_SHARDS } from '../../relay/bus/nats-layout.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function shards(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_MAILBOX_SHARDS) throw new InvalidArgumentError(`must be 1..${MAX_MAILBOX_SHARDS}`);
  return n;
}

export function natsPermissionsCommand(): Command {
  return new Command('nats-permissions')
    .description('print the NATS permissions one role needs, for these settings: the body of a NATS user\'s permissions map (docs/OPERATIONS.md, "NATS permissions")')
    .addOption(new Option('--role <role>', 'gateway, oprf (the evaluator) or oprf-fetch (hushwire oprf-key fetch)').choices(PERMISSION_ROLES).default('gateway'))
    .option('--nats-prefix <prefix>', 'the gateways\' --nats-prefix', 'hw')
    .option('--mailbox-shards <n>', 'the gateways\' --mailbox-shards (role gateway)', shards, 16)
    .option('--oprf-evaluator <id>', 'role gateway: an evaluator id the gateways call (give each; default main)', collect)
    .option('--id <id>', 'roles oprf and oprf-fetch: the evaluator id', 'main')
    .option('--nats-inbox-prefix <prefix>', 'the role\'s --nats-inbox-prefix (default _INBOX_<prefix>_gw, _INBOX_<prefix>_fetch)')
    .option('--no-setup', 'role gateway: without the rights to create the mailbox streams and the directory bucket and raise their limits (an admin makes them)')
    .action((o: { role: PermissionRole; natsPrefix: string; mailboxShards: number; oprfEvaluator?: string[]; id: string; natsInboxPrefix?: string; setup: boolean }) => {
      const evaluators = o.role === 'gateway' ? o.oprfEvaluator : [o.id];
      process.stdout.write(natsPermissions(o.role, {
        prefix: o.natsPrefix,
        mailboxShards: o.mailboxShards,
        evaluators,
        inboxPrefix: o.natsInboxPrefix,
        setup: o.setup,
      }));
    });
}
