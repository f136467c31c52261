// `hushwire register --gateway X` with X no WebSocket URL (`127.0.0.1:8480`, `http://...`,
// a typo): the line names the option and the form of a whole URL. Before, the SDK's words
// came through ("gateway URL must start with ws:// or wss://", "gateway URL is not a
// valid URL"), naming neither. The value is never quoted back (a URL may hold a password).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../cli/program.ts';
import { formatError, exitCodeFor } from '../../cli/errors.ts';
import { tempDir } from '../helpers/temp.ts';

t.test('a --gateway that is no ws:// or wss:// URL names the option and the form', async (t) => {
  const profile = join(tempDir('hw-cli-gwurl-'), 'p');
  for (const url of ['127.0.0.1:8480', 'http://127.0.0.1:8480/ws', 'not a url', 'https://user:s3cret@example.com/ws']) {
    let err: unknown;
    try {
      await buildProgram().parseAsync(['node', 'hushwire', 'register', '--gateway', 'ws://127.0.0.1:9/ws', '--gateway', url, '--number', '+15550100311', '--profile', profile]);
    } catch (e) {
      err = e;
    }
    t.equal(formatError(err), 'hushwire: --gateway is not a gateway WebSocket URL: ws:// (or wss://), the host and port, and the path, e.g. ws://127.0.0.1:8480/ws (BAD_REQUEST)', url);
    t.equal(exitCodeFor(err), 2);
    t.notMatch(formatError(err), /s3cret/, 'the value is not quoted back');
  }
  t.notOk(existsSync(profile), 'no profile made');
});
