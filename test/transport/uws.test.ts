// The adapter contract on whichever uWebSockets.js build loads here (skipped if none).
import t from 'tap';
import { loadUws } from '../../gateway/transport/select.ts';
import { createUwsTransport, uwsIdleTimeout } from '../../gateway/transport/uws.ts';
import { transportContract } from './contract.ts';

const loaded = loadUws();
if (!loaded.ok) {
  t.plan(0, `no uWebSockets.js build loads here: ${loaded.notes.join('; ')}`);
} else {
  const { uws, name, version } = loaded;
  t.comment(`running on ${name} ${version}${loaded.notes.length ? ` (${loaded.notes.join('; ')})` : ''}`);

  t.test('idle timeout is rounded to what uWS accepts', async (t) => {
    t.equal(uwsIdleTimeout(0), 0);
    t.equal(uwsIdleTimeout(1), 8, 'uWS aborts the process below 8');
    t.equal(uwsIdleTimeout(8), 8);
    t.equal(uwsIdleTimeout(9), 12, 'multiple of 4');
    t.equal(uwsIdleTimeout(120), 120);
  });

  // uWS drops the TCP connection without a close frame on these two: the client sees 1006.
  transportContract(t, (opts) => createUwsTransport(uws, opts), { oversizeClientCode: 1009, idleClientCode: 1006 });
}
