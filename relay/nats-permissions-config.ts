// The NATS permissions of each Hushwire role, as nats-server config text, made from the
// same layout the bus uses (relay/bus/nats-layout.ts) and the same evaluator subjects
// (relay/oprf-wire.ts): `hushwire nats-permissions` prints them, and docs/nats/*.conf
// are its output for the defaults (test/ops/nats-permissions.test.ts checks that they
// are identical and runs the whole flow on them, and on the output for another prefix
// and shard count).
//
// Each text is the body of one user's `permissions` map, meant to be included there:
//
//   { user: hushwire-gw-a, password: "$2a$11$...", permissions: { include "hushwire/gateway.conf" } }
//
// so two users of one role (for rotation) share one definition, and the files hold no
// `authorization` block that could replace or be replaced by the operator's own
// (docs/OPERATIONS.md, "NATS permissions").
import { natsLayout, type NatsLayoutOptions } from './bus/nats-layout.ts';
import { evalSubject, queueGroup } from './oprf-wire.ts';
import { INBOX_PREFIX_RE } from './nats-permissions.ts';
import { ErrorCode, HushwireError } from './errors.ts';

export const PERMISSION_ROLES = ['gateway', 'oprf', 'oprf-fetch'] as const;
export type PermissionRole = (typeof PERMISSION_ROLES)[number];

export interface PermissionSettings {
  /** --nats-prefix (default hw). */
  prefix?: string;
  /** --mailbox-shards (default 16). */
  mailboxShards?: number;
  /** Gateway: the evaluator ids it calls (--oprf-evaluator; default main). The
   *  evaluator and the fetch: their one id (the first; default main). */
  evaluators?: string[];
  /** --nats-inbox-prefix (default _INBOX_<prefix>_gw, _INBOX_<prefix>_fetch). */
  inboxPrefix?: string;
  /** Gateway: include the set-up rights (create the mailbox streams and the directory
   *  bucket, raise the mailbox limits). Default true. The counter bucket's create is
   *  kept either way (a NATS restart loses it; see gatewayPermissions). */
  setup?: boolean;
}

/** The inbox prefix a role uses by default with these permissions (none for the evaluator). */
export function defaultInboxPrefix(role: PermissionRole, prefix = 'hw'): string {
  return role === 'gateway' ? `_INBOX_${prefix}_gw` : role === 'oprf-fetch' ? `_INBOX_${prefix}_fetch` : '';
}

function inboxOf(role: PermissionRole, s: PermissionSettings, prefix: string): string {
  const inbox = s.inboxPrefix ?? defaultInboxPrefix(role, prefix);
  if (!INBOX_PREFIX_RE.test(inbox)) throw new HushwireError(ErrorCode.BAD_REQUEST, `bad inbox prefix ${JSON.stringify(inbox)}`);
  return inbox;
}

function evaluatorsOf(s: PermissionSettings): string[] {
  const ids = s.evaluators !== undefined && s.evaluators.length > 0 ? s.evaluators : ['main'];
  return [...new Set(ids)];
}

/** The command line that prints `text` for these settings (for the header). */
function commandLine(role: PermissionRole, s: PermissionSettings): string {
  const parts = ['hushwire nats-permissions', '--role', role];
  if (s.prefix !== undefined && s.prefix !== 'hw') parts.push('--nats-prefix', s.prefix);
  if (role === 'gateway' && s.mailboxShards !== undefined && s.mailboxShards !== 16) parts.push('--mailbox-shards', String(s.mailboxShards));
  const ids = evaluatorsOf(s);
  if (role === 'gateway') {
    if (ids.join(',') !== 'main') for (const id of ids) parts.push('--oprf-evaluator', id);
  } else if (ids[0] !== 'main') parts.push('--id', ids[0] as string);
  if (s.inboxPrefix !== undefined && s.inboxPrefix !== defaultInboxPrefix(role, s.prefix ?? 'hw')) parts.push('--nats-inbox-prefix', s.inboxPrefix);
  if (role === 'gateway' && s.setup === false) parts.push('--no-setup');
  return parts.join(' ');
}

const q = (subject: string): string => JSON.stringify(subject);

/** The permissions text of `role` for these settings. */
export function natsPermissions(role: PermissionRole, s: PermissionSettings = {}): string {
  if (role === 'gateway') return gatewayPermissions(s);
  if (role === 'oprf') return evaluatorPermissions(s);
  return fetchPermissions(s);
}

const HEADER_END = [
  '#',
  '# The body of a user\'s permissions map: include it there, from your authorization block',
  '# (the path is relative to the file that includes it; docs/OPERATIONS.md, "NATS',
  '# permissions", has a complete nats-server config):',
  '#',
];

/** Every gateway: live and control subjects, its inbox, the evaluators, the stores and
 *  the JetStream API on Hushwire's own streams by name. */
export function gatewayPermissions(s: PermissionSettings = {}): string {
  const l = natsLayout({ prefix: s.prefix, mailboxShards: s.mailboxShards });
  const p = l.prefix;
  const inbox = inboxOf('gateway', s, p);
  const setup = s.setup !== false;
  const dir = `KV_${l.bucket}`;
  const rl = `KV_${l.counterBucket}`;
  const out: string[] = [
    `# NATS permissions of a Hushwire gateway, printed by`,
    `#   ${commandLine('gateway', s)}`,
    `# for --nats-prefix ${p} --mailbox-shards ${l.streams.length}, evaluators ${evaluatorsOf(s).join(', ')}, and the gateways`,
    `# started with --nats-inbox-prefix ${inbox}.`,
    ...HEADER_END,
    `#   { user: hushwire-gw-a, password: "$2a$11$...", permissions: { include "hushwire/gateway.conf" } }`,
    '#',
  ];
  if (setup) {
    out.push(
      '# Lines marked "set-up" let a gateway create the mailbox streams and the directory',
      '# bucket and raise the mailbox limits; without them (--no-setup) it runs on streams and',
      '# a bucket an admin user made beforehand (OPERATIONS.md, "Set-up rights").',
    );
  } else {
    out.push(
      '# Without set-up rights: the gateway runs on mailbox streams and a directory bucket an',
      '# admin user made beforehand (OPERATIONS.md, "Set-up rights").',
    );
  }
  out.push(
    '# The counter bucket\'s create is kept in both: it is on memory storage, lost when NATS',
    '# restarts, and the gateways make it again.',
    'publish: {',
    '  allow: [',
    '    # core NATS',
    `    ${q(`${l.devPrefix}*.*`)}                    # live offers and control messages to a device's gateway`,
    `    ${q(`${l.nodePrefix}*`)}                       # live envelopes batched to the gateway holding their devices`,
    `    ${q(l.unregSubject)}                        # devices that left the directory, announced to every gateway`,
    `    ${q(l.unregIntentSubject)}                 # removals about to be made, announced before them`,
    `    ${q(l.unregBeatSubject)}                   # beats, by which the others find announcements lost between nodes`,
    `    ${q(`${inbox}.>`)}                # answers to other gateways' live offers`,
  );
  for (const id of evaluatorsOf(s)) out.push(`    ${q(evalSubject(p, id))}             # evaluation requests to hushwire oprf --id ${id}`);
  out.push(
    '    # JetStream: stores into the mailbox streams and the two buckets',
    `    ${q(`${l.mboxRoot}>`)}                     # mailbox stores (streams ${l.streams.length === 1 ? l.streams[0] : `${l.streams[0]} .. ${l.streams[l.streams.length - 1]}`})`,
    `    ${q(`$KV.${l.bucket}.*`)}                  # directory writes (bucket ${l.bucket}, key = route tag)`,
    `    ${q(`$KV.${l.counterBucket}.>`)}                  # rate-limit counters (bucket ${l.counterBucket})`,
    '    # JetStream API, only on Hushwire\'s own streams',
    `    "$JS.API.INFO"                  # the JetStream client's check at start`,
    `    ${q(`$JS.API.STREAM.CREATE.${rl}`)}            # the counter bucket (memory storage): made again after a NATS restart`,
  );
  if (setup) {
    for (const st of l.streams) out.push(`    ${q(`$JS.API.STREAM.CREATE.${st}`)}           # set-up`);
    out.push(`    ${q(`$JS.API.STREAM.CREATE.${dir}`)}           # set-up`);
    for (const st of l.streams) out.push(`    ${q(`$JS.API.STREAM.UPDATE.${st}`)}           # set-up`);
  }
  out.push(
    '    # mailbox shards: layout check, reads (direct gets, ephemeral pull consumers),',
    '    # erasing deletes (one message at a time; no purge: OPERATIONS.md)',
  );
  for (const st of l.streams) {
    out.push(`    ${[`$JS.API.STREAM.INFO.${st}`, `$JS.API.DIRECT.GET.${st}`, `$JS.API.STREAM.MSG.GET.${st}`, `$JS.API.STREAM.MSG.DELETE.${st}`].map(q).join(', ')}`);
    out.push(`    ${[`$JS.API.CONSUMER.CREATE.${st}`, `$JS.API.CONSUMER.MSG.NEXT.${st}.*`, `$JS.API.CONSUMER.INFO.${st}.*`, `$JS.API.CONSUMER.DELETE.${st}.*`].map(q).join(', ')}`);
  }
  out.push(
    '    # directory bucket: reads, erasing deletes, the idle sweep\'s key scan',
    `    ${[`$JS.API.STREAM.INFO.${dir}`, `$JS.API.DIRECT.GET.${dir}`, `$JS.API.DIRECT.GET.${dir}.>`].map(q).join(', ')}`,
    `    ${[`$JS.API.STREAM.MSG.GET.${dir}`, `$JS.API.STREAM.MSG.DELETE.${dir}`].map(q).join(', ')}`,
    `    ${[`$JS.API.CONSUMER.CREATE.${dir}`, `$JS.API.CONSUMER.CREATE.${dir}.>`].map(q).join(', ')}`,
    `    ${[`$JS.API.CONSUMER.INFO.${dir}.*`, `$JS.API.CONSUMER.DELETE.${dir}.*`].map(q).join(', ')}`,
    `    ${q(`$JS.FC.${dir}.>`)}            # flow-control answers of that scan`,
    '    # counter bucket: reads',
    `    ${[`$JS.API.STREAM.INFO.${rl}`, `$JS.API.DIRECT.GET.${rl}`, `$JS.API.DIRECT.GET.${rl}.>`].map(q).join(', ')}`,
    `    ${q(`$JS.API.STREAM.MSG.GET.${rl}`)}`,
    '  ]',
    '}',
    'subscribe: {',
    '  allow: [',
    `    ${q(`${l.devPrefix}*.*`)}                    # the devices this gateway holds`,
    `    ${q(`${l.nodePrefix}*`)}                       # its own node subject (a random id per process)`,
    `    ${q(l.unregSubject)}                        # devices that left the directory (every gateway's announcements)`,
    `    ${q(l.unregIntentSubject)}                 # removals about to be made (every gateway's intents)`,
    `    ${q(l.unregBeatSubject)}                   # every gateway's beats`,
    `    ${q(`${inbox}.>`)}                # its replies: JetStream API, stores, live answers, evaluations`,
    '  ]',
    '}',
  );
  return `${out.map(aligned).join('\n')}\n`;
}

/** `    "subject"   # comment` with the comments in one column. */
function aligned(line: string): string {
  const m = /^(\s+"[^"]*")\s+(# .*)$/.exec(line);
  return m === null ? line : `${(m[1] as string).padEnd(40)} ${m[2] as string}`;
}

/** `hushwire oprf --id <id>`: its subject in its queue group, and one reply per request. */
export function evaluatorPermissions(s: PermissionSettings = {}): string {
  const p = natsLayout({ prefix: s.prefix }).prefix;
  const id = evaluatorsOf(s)[0] as string;
  return [
    `# NATS permissions of hushwire oprf --id ${id} (every replica of that evaluator), printed by`,
    `#   ${commandLine('oprf', s)}`,
    `# It only answers requests: no publish rights but the replies, no reply inbox of its own.`,
    `# allow_responses lets a requester choose where a reply goes: run the evaluator with`,
    `# --reply-prefixes ${defaultInboxPrefix('gateway', p)},${defaultInboxPrefix('oprf-fetch', p)} (the requesters' inboxes) so it answers nowhere else.`,
    ...HEADER_END,
    `#   { user: hushwire-oprf-${id}-a, password: "$2a$11$...", permissions: { include "hushwire/oprf-${id}.conf" } }`,
    '',
    `subscribe: { allow: [ ${q(`${evalSubject(p, id)} ${queueGroup(p, id)}`)} ] }   # its subject, in its queue group only`,
    'allow_responses: true                                      # one reply per request received',
    '',
  ].join('\n');
}

/** `hushwire oprf-key fetch --id <id>`: requests to the evaluator, replies on its inbox. */
export function fetchPermissions(s: PermissionSettings = {}): string {
  const p = natsLayout({ prefix: s.prefix }).prefix;
  const id = evaluatorsOf(s)[0] as string;
  const inbox = inboxOf('oprf-fetch', s, p);
  return [
    `# NATS permissions of hushwire oprf-key fetch --id ${id} --nats-inbox-prefix ${inbox}, printed by`,
    `#   ${commandLine('oprf-fetch', s)}`,
    '# Anyone with this user can have numbers evaluated without the gateways\' discovery',
    '# budgets: enable it for the fetch and remove it after (OPERATIONS.md).',
    ...HEADER_END,
    `#   { user: hushwire-oprf-fetch, password: "$2a$11$...", permissions: { include "hushwire/oprf-fetch.conf" } }`,
    '',
    `publish: { allow: [ ${q(evalSubject(p, id))} ] }`,
    `subscribe: { allow: [ ${q(`${inbox}.>`)} ] }`,
    '',
  ].join('\n');
}
