// E.164 parsing (relay/number.ts).
import t from 'tap';
import { parseE164 } from '../../relay/number.ts';

const BAD = { name: 'HushwireError', code: 'BAD_NUMBER', message: 'not an E.164 phone number' };

t.test('valid numbers, normalized', async (t) => {
  const ok: [string, string][] = [
    ['+14155550123', '+14155550123'],
    ['+1 (415) 555-0123', '+14155550123'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+49-30-123456', '+4930123456'],
    ['+12345678', '+12345678'], // 8 digits: the shortest accepted
    ['+123456789012345', '+123456789012345'], // 15 digits: the longest
    [' +1 415 555 0123 ', '+14155550123'],
  ];
  for (const [input, want] of ok) t.equal(parseE164(input), want, input);
});

t.test('invalid numbers are BAD_NUMBER', async (t) => {
  const bad = [
    '',
    '+',
    '14155550123', // no +
    '+04155550123', // leading 0
    '+1234567', // 7 digits
    '+1234567890123456', // 16 digits
    '+1.415.555.0123', // dots are not stripped
    '+1/415/5550123',
    '+1 415 555 O123', // letter O
    '++14155550123',
    '+1415555012３', // full-width digit
    '+١٤١٥٥٥٥٠١٢٣', // Arabic-Indic digits
    '+14155550123\n',
    '+1\t4155550123',
    'tel:+14155550123',
    '+1 415 555 0123 ext 7',
    '+1' + ' '.repeat(100) + '4155550123', // too long to consider
  ];
  for (const s of bad) t.throws(() => parseE164(s), BAD, JSON.stringify(s));
});

t.test('non-strings are BAD_NUMBER', async (t) => {
  for (const v of [14155550123, null, undefined, {}, ['+14155550123'], new Uint8Array(12), Symbol('n')]) {
    t.throws(() => parseE164(v), BAD, typeof v);
  }
});

t.test('the error never echoes the input', async (t) => {
  try {
    parseE164('+1 415 555 O12');
  } catch (e) {
    t.equal((e as Error).message, 'not an E.164 phone number');
    t.notMatch(String((e as Error).stack), '415');
    return;
  }
  t.fail('should throw');
});
