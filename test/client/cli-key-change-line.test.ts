// The stderr notice `send` and `listen` write for a key change (cli/options.ts
// keyChangeLine). For the user's own number, a device added or a key replaced may be a
// take-over and is said with that warning; one that only lost devices (the user
// unregistered another phone, or it expired at the relay) is no such sign. Before, that
// too said "lists other devices now (1 device(s) gone); if that was not you, your number
// may have been taken over": an alarm after every unregister of a second phone.
import t from 'tap';
import { keyChangeLine } from '../../cli/options.ts';
import type { KeyChange } from '../../client/index.ts';

const change = (c: Partial<KeyChange>): KeyChange => ({ number: '+15550100301', own: true, added: [], changed: [], removed: [], wasVerified: false, status: 'unverified', ...c });

t.test('own number: only devices gone is said without the take-over alarm', async (t) => {
  const gone = keyChangeLine(change({ removed: ['aa'] }));
  t.equal(gone, 'notice: your own number lists fewer devices now (1 device(s) gone: unregistered, or expired at the relay)');
  t.notMatch(gone, /taken over/);
});

t.test('own number: a device added or a key replaced still warns', async (t) => {
  t.match(keyChangeLine(change({ added: ['bb'] })), /^notice: your own number lists other devices now \(1 device\(s\) added\); if that was not you, your number may have been taken over$/);
  t.match(keyChangeLine(change({ changed: ['bb'], removed: ['aa'] })), /1 device key\(s\) replaced, 1 device\(s\) gone\); if that was not you, your number may have been taken over$/);
  t.match(keyChangeLine(change({ added: ['bb'], removed: ['aa'] })), /taken over/);
});

t.test('a contact\'s change is said as before', async (t) => {
  t.equal(keyChangeLine(change({ own: false, removed: ['aa'] })), 'notice: the keys of +15550100301 changed (1 device(s) gone)');
});
