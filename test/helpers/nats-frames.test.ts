// The NATS frame splitter the test proxies share (test/helpers/nats-frames.ts): control
// lines and message payloads however the chunks cut them, each message operation's size
// argument, CRLFs inside payloads, and malformed lines passed on as lines.
import t from 'tap';
import { NatsFrameSplitter, type NatsFrame } from './nats-frames.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** What a test compares: op, args, payload (as text) and raw (as text) of each frame. */
const shown = (frames: NatsFrame[]): { op: string; args: readonly string[]; payload: string | null; raw: string }[] =>
  frames.map((f) => ({ op: f.op, args: f.args, payload: f.payload?.toString('latin1') ?? null, raw: f.raw.toString('latin1') }));

/** Every frame of `chunks`, fed one after another to one splitter. */
function split(...chunks: string[]): NatsFrame[] {
  const s = new NatsFrameSplitter();
  return chunks.flatMap((c) => s.push(b(c)));
}

// A client's, a server's and a route's traffic, with a payload holding CRLFs and text
// that looks like commands, an empty payload, headers, a reply subject and queue groups.
const STREAM = [
  'INFO {"server_id":"x","max_payload":1048576}\r\n',
  'CONNECT {"verbose":false}\r\n',
  'SUB _INBOX.a 1\r\n',
  'SUB work.q  grp\t2\r\n',
  'PUB work.q _INBOX.a 13\r\nPING\r\nPUB x 9\r\n',
  'PUB empty 0\r\n\r\n',
  'HPUB h.s 18 25\r\nNATS/1.0\r\nA: b\r\n\r\n\r\nhello\r\n',
  'MSG work.q 2 _INBOX.a 5\r\nhi\r\nx\r\n',
  'HMSG _INBOX.a 1 12 14\r\nNATS/1.0\r\n\r\nok\r\n',
  'RMSG $G hw.beat + _R_.x q1 q2 3\r\nabc\r\n',
  'HMSG $G hw.intent 12 12\r\nNATS/1.0\r\n\r\n\r\n',
  'LMSG leaf.s 1\r\nz\r\n',
  'UNSUB 1\r\n',
  'ping\r\n',
  '\r\n',
  'PONG\r\n',
].join('');

const EXPECTED = [
  { op: 'INFO', args: ['{"server_id":"x","max_payload":1048576}'], payload: null },
  { op: 'CONNECT', args: ['{"verbose":false}'], payload: null },
  { op: 'SUB', args: ['_INBOX.a', '1'], payload: null },
  { op: 'SUB', args: ['work.q', 'grp', '2'], payload: null },
  { op: 'PUB', args: ['work.q', '_INBOX.a', '13'], payload: 'PING\r\nPUB x 9' },
  { op: 'PUB', args: ['empty', '0'], payload: '' },
  { op: 'HPUB', args: ['h.s', '18', '25'], payload: 'NATS/1.0\r\nA: b\r\n\r\n\r\nhello' },
  { op: 'MSG', args: ['work.q', '2', '_INBOX.a', '5'], payload: 'hi\r\nx' },
  { op: 'HMSG', args: ['_INBOX.a', '1', '12', '14'], payload: 'NATS/1.0\r\n\r\nok' },
  { op: 'RMSG', args: ['$G', 'hw.beat', '+', '_R_.x', 'q1', 'q2', '3'], payload: 'abc' },
  { op: 'HMSG', args: ['$G', 'hw.intent', '12', '12'], payload: 'NATS/1.0\r\n\r\n' },
  { op: 'LMSG', args: ['leaf.s', '1'], payload: 'z' },
  { op: 'UNSUB', args: ['1'], payload: null },
  { op: 'PING', args: [], payload: null },
  { op: '', args: [], payload: null },
  { op: 'PONG', args: [], payload: null },
];

t.test('several frames in one chunk: each op, its arguments and its payload; the raw bytes are the stream', async (t) => {
  const frames = split(STREAM);
  t.same(shown(frames).map(({ op, args, payload }) => ({ op, args, payload })), EXPECTED);
  t.equal(Buffer.concat(frames.map((f) => f.raw)).toString('latin1'), STREAM, 'raw frames put together are the stream, byte for byte');
  t.equal(frames[4]!.raw.toString('latin1'), 'PUB work.q _INBOX.a 13\r\nPING\r\nPUB x 9\r\n', 'a message\'s raw: its line, payload and CRLF');
});

t.test('frames cut across chunks anywhere: the same frames as from one chunk', async (t) => {
  const whole = shown(split(STREAM));
  let cuts = 0;
  for (let i = 1; i < STREAM.length; i++) {
    const got = shown(split(STREAM.slice(0, i), STREAM.slice(i)));
    if (JSON.stringify(got) !== JSON.stringify(whole)) t.fail(`cut at byte ${i}: ${JSON.stringify(STREAM.slice(Math.max(0, i - 8), i))} | ${JSON.stringify(STREAM.slice(i, i + 8))}`);
    else cuts++;
  }
  t.equal(cuts, STREAM.length - 1, 'every two-chunk cut');
  t.same(shown(split(...STREAM.split(''))), whole, 'one byte a chunk');
  // Three-way cuts around every CRLF (between CR and LF, and right after).
  for (let i = STREAM.indexOf('\r\n'); i >= 0; i = STREAM.indexOf('\r\n', i + 1)) {
    const got = shown(split(STREAM.slice(0, i + 1), STREAM.slice(i + 1, i + 2), STREAM.slice(i + 2)));
    if (JSON.stringify(got) !== JSON.stringify(whole)) t.fail(`cut inside the CRLF at ${i}`);
  }
});

t.test('a frame is handed back only once complete; what waits is held', async (t) => {
  const s = new NatsFrameSplitter();
  t.same(s.push(b('PI')), [], 'half a line: nothing');
  t.equal(s.held, 2);
  t.same(shown(s.push(b('NG\r'))), [], 'the line without its LF: nothing');
  t.same(shown(s.push(b('\nPUB a 3\r\nab'))).map((f) => f.op), ['PING'], 'the LF ends it; the PUB waits for its payload');
  t.ok(s.held > 0, 'the PUB is held');
  t.same(s.push(b('c')), [], 'the payload without its CRLF: still nothing');
  t.same(s.push(b('\r')), [], 'nor with half of it');
  t.same(shown(s.push(b('\n'))), [{ op: 'PUB', args: ['a', '3'], payload: 'abc', raw: 'PUB a 3\r\nabc\r\n' }]);
  t.equal(s.held, 0, 'nothing held between frames');
});

t.test('a large payload in many chunks comes back as one frame', async (t) => {
  const body = 'x\r\n'.repeat(100_000);
  const s = new NatsFrameSplitter();
  const stream = b(`PUB big ${body.length}\r\n${body}\r\nPING\r\n`);
  const frames: NatsFrame[] = [];
  for (let i = 0; i < stream.length; i += 65_536) frames.push(...s.push(stream.subarray(i, i + 65_536)));
  t.same(frames.map((f) => f.op), ['PUB', 'PING']);
  t.equal(frames[0]!.payload!.length, body.length);
  t.ok(frames[0]!.payload!.equals(b(body)), 'its payload whole');
});

t.test('malformed input: a message line without a whole-number size is a line, as it came', async (t) => {
  for (const line of ['PUB a', 'PUB', 'PUB a -1', 'PUB a 1e3', 'PUB a 0x10', 'HPUB a 3 x', 'RMSG $G a', 'MSG a 1 2.5']) {
    const frames = shown(split(`${line}\r\nPING\r\n`));
    t.same(frames.map((f) => ({ raw: f.raw, payload: f.payload })), [{ raw: `${line}\r\n`, payload: null }, { raw: 'PING\r\n', payload: null }], `${line}: no payload; the next line is a frame of its own`);
  }
  // Lines end at CRLF alone (what NATS clients and servers send): a lone CR or LF is part
  // of the line.
  t.same(shown(split('PI\rNG\r\n')).map((f) => f.raw), ['PI\rNG\r\n'], 'a lone CR stays in the line');
  t.same(shown(split('PING\nPONG\r\n')).map((f) => ({ op: f.op, args: f.args })), [{ op: 'PING', args: ['PONG'] }], 'a lone LF stays in the line (white space between arguments)');
  // The size is trusted, as nats-server trusts it: a payload longer than it says runs
  // into the next line, which the splitter cannot know.
  t.same(shown(split('PUB a 1\r\nabc\r\nPING\r\n')).map((f) => f.raw), ['PUB a 1\r\nabc', '\r\n', 'PING\r\n'], 'a payload longer than its size: the size wins');
});
