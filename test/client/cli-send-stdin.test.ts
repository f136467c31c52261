// `hushwire send --to N -`: the message read from stdin, as `-` means for most commands
// (discover --file - already did). Before, `-` was sent as the literal text "-", and a
// text could only come from the command line (a text of 60 KB, or one with the shell's
// special characters, had to be quoted into argv). Now `-` reads stdin to its end (one
// trailing line break taken off), refused TOO_LARGE past the most one message holds
// without reading further, and `--text -` sends the text "-" itself.
import t from 'tap';
import { hushwire, cliProfiles, errorLineProblems } from '../helpers/cli.ts';

t.setTimeout(180_000);

const A = '+15550100171';
const B = '+15550100172';

t.test('send -: the text comes from stdin; --text - sends "-"', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-stdin-');
  const texts: string[] = [];
  const send = async (argv: string[], input: string | undefined, expect: string) => {
    const r = await hushwire(['send', '--profile', a!, '--to', B, ...argv], input === undefined ? {} : { input });
    t.equal(r.code, 0, `${argv.join(' ')}: sent (stderr: ${r.stderr})`);
    t.match(JSON.parse(r.stdout), { status: 'stored' });
    texts.push(expect);
  };
  await send(['-'], 'from stdin\n', 'from stdin');
  await send(['-'], 'two lines\nkept as they are\r\n', 'two lines\nkept as they are');
  await send(['-'], '$HOME `not run` \'quoted\' "x"', '$HOME `not run` \'quoted\' "x"');
  await send(['--text', '-'], undefined, '-');
  await send(['--text=-5 degrees'], undefined, '-5 degrees');
  await send(['--', '-3 still an argument'], undefined, '-3 still an argument');
  // The largest text there is, from stdin, with the newline echo adds.
  const big = 'x'.repeat(65_341);
  await send(['-'], `${big}\n`, big);

  const heard = await hushwire(['listen', '--profile', b!, '--count', String(texts.length), '--timeout', '30'], { timeoutMs: 60_000 });
  t.equal(heard.code, 0, heard.stderr);
  const got = heard.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
  t.same(got.sort(), [...texts].sort(), 'each text arrives as it was given');
});

t.test('send -: a text over the most one message holds, or not UTF-8, is refused and nothing is sent', async (t) => {
  const { profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-cli-stdin-big-');
  // 1 MiB: far more than a message; refused once more than a message was read.
  const tooBig = await hushwire(['send', '--profile', a!, '--to', B, '-'], { input: 'y'.repeat(1 << 20) });
  t.equal(tooBig.code, 2, tooBig.stderr);
  t.same(errorLineProblems(tooBig, 'TOO_LARGE'), []);
  t.match(tooBig.stderr, /the text read from stdin is over 65,341 bytes of UTF-8/);
  const oneOver = await hushwire(['send', '--profile', a!, '--to', B, '-'], { input: 'z'.repeat(65_342) });
  t.equal(oneOver.code, 2, 'one byte over: refused');
  const notUtf8 = await hushwire(['send', '--profile', a!, '--to', B, '-'], { input: Uint8Array.of(0x68, 0xff, 0xfe) });
  t.equal(notUtf8.code, 2, notUtf8.stderr);
  t.match(notUtf8.stderr, /the text read from stdin is not UTF-8/);
  const both = await hushwire(['send', '--profile', a!, '--to', B, '--text', 'x', 'y']);
  t.equal(both.code, 2);
  t.same(errorLineProblems(both, 'BAD_REQUEST'), []);
  const none = await hushwire(['send', '--profile', a!, '--to', B]);
  t.equal(none.code, 2);
  t.match(none.stderr, /no text given/);
  const heard = await hushwire(['listen', '--profile', b!, '--count', '1', '--timeout', '8'], { timeoutMs: 60_000 });
  t.equal(heard.code, 3, 'nothing was sent');
  t.equal(heard.stdout, '');
});
