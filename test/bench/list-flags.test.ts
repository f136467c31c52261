// hushwire bench's list flags as a load tester types them: a name given twice runs once
// (it ran, and was reported, twice), `all` and `none` go alone (the error named them as
// choices while refusing them), an empty --peers is refused rather than taken as none,
// --rate's error names "half", and --help shows list defaults as the flag takes them.
// The command's own parsing only: a hook stops it before anything starts.
import t from 'tap';
import { benchCommand } from '../../cli/commands/bench.ts';
import { parseBenchArgs } from '../helpers/bench-cli.ts';

/** The options `args` give, or the usage error's text. */
const parse = parseBenchArgs;

t.test('a name given twice runs once', async (t) => {
  t.same(parse(['--peers', 'nats-ws,socketio,nats-ws'])['peers' as never], ['nats-ws', 'socketio']);
  t.same(parse(['--workload', 'chat,storm,chat'])['workload' as never], ['chat', 'storm']);
  t.same(parse(['--fanout', '3,1,3'])['fanout' as never], [3, 1]);
});

t.test('all and none go alone; an empty --peers is refused', async (t) => {
  t.match(parse(['--peers', 'none,socketio']), /argument 'none,socketio' is invalid\. "none" goes alone, not in a list with other names/);
  t.match(parse(['--peers', 'all,none']), /"all" goes alone/);
  t.match(parse(['--workload', 'all,chat']), /"all" goes alone/);
  t.match(parse(['--peers', '']), /names no peer \(for Hushwire alone: --peers none\)/);
  t.match(parse(['--peers', 'hushwire']), /unknown peer "hushwire" \(choose from nats-ws, mosquitto, socketio, uws-relay, all, none\)/);
  t.same(parse(['--peers', 'none'])['peers' as never], []);
  t.same(parse(['--workload', 'all'])['workload' as never], ['chat', 'fanout', 'backlog', 'storm', 'idle']);
});

t.test('--rate: the error says what it takes', async (t) => {
  t.match(parse(['--rate', 'fast']), /must be a positive number of messages\/s, or "half"/);
  t.equal(parse(['--rate', 'half'])['rate' as never], 'half');
  t.equal(parse(['--rate', '2000'])['rate' as never], 2000);
});

t.test('--help shows list defaults as the flag takes them, and the ranges', async (t) => {
  const help = benchCommand().helpInformation().replace(/\s+/g, ' ');
  t.match(help, /\(default: nats-ws,mosquitto,socketio,uws-relay\)/);
  t.match(help, /--workload <list> .*? \(default: chat\)/);
  t.match(help, /--fanout <list> fanout: devices per recipient, comma-separated, each 1 to 16 \(default: 1,3,10\)/);
  t.notMatch(help, /default: \[/, 'no JSON arrays');
  t.match(help, /--duration <s> measured seconds per run \(chat, fanout; at most 600\)/);
});
