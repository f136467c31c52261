// The CLI's one stderr line per error (cli/errors.ts formatError), without a process:
// what a user reads when a command fails.
import t from 'tap';
import { formatError } from '../../cli/errors.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

t.test('RATE_LIMITED says when to try again, when the relay said', async (t) => {
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 44_200 })), 'hushwire: slow down; try again in 45 s (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: 899_000 })), 'hushwire: slow down; try again in 15 min (RATE_LIMITED)');
  t.equal(formatError(new HushwireError(ErrorCode.RATE_LIMITED, 'slow down')), 'hushwire: slow down (RATE_LIMITED)', 'no time given: none made up');
  t.equal(formatError(new HushwireError(ErrorCode.UNAVAILABLE, 'down', { retryAfterMs: 5000 })), 'hushwire: down (UNAVAILABLE)', 'only for RATE_LIMITED');
});
