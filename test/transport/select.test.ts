// Transport selection: what loads, what falls back, and the one-line explanation.
import t from 'tap';
import { loadTransport, loadUws, uwsAvailable } from '../../gateway/transport/select.ts';
import { explainLoadFailure } from '../../relay/native-load.ts';
import type { Test } from 'tap';
import type { TransportOptions } from '../../gateway/transport/transport.ts';

const opts: TransportOptions = {
  host: '127.0.0.1',
  port: 0,
  path: '/ws',
  maxPayloadBytes: 1024,
  idleTimeoutSeconds: 8,
  maxBackpressureBytes: 64 * 1024,
  http: () => ({ status: 200, body: 'ok\n' }),
  gate: () => ({ ok: true }),
  handlers: { open: () => {}, message: () => {}, close: () => {} },
};

async function serves(t: Test, kind: 'uws' | 'ws' | 'auto'): Promise<string> {
  const r = await loadTransport(kind, opts);
  t.equal(r.transport.kind, r.kind, 'kind matches the transport');
  t.notMatch(r.why, /\n/, 'why is one line');
  const port = await r.transport.listen();
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } });
  t.equal(res.status, 200, `${r.kind} serves HTTP`);
  await res.text();
  await r.transport.close(1001, 'test over');
  return r.kind;
}

t.test('ws on request', async (t) => {
  t.equal(await serves(t, 'ws'), 'ws');
});

t.test('auto picks uWS when a build loads, else ws, and says why', async (t) => {
  const available = await uwsAvailable();
  const r = await loadTransport('auto', opts);
  t.equal(r.kind, available ? 'uws' : 'ws');
  t.match(r.why, available ? /using (uWebSockets\.js|@trufflesuite\/uws-js-unofficial) / : /using ws /);
  const u = loadUws();
  for (const note of u.notes) t.ok(r.why.includes(note), `why mentions: ${note}`);
  await r.transport.close(1001, 'never listened'); // harmless before listen()
  t.equal(await serves(t, 'auto'), r.kind);
});

t.test('explicit uws: loads or fails with a clear error', async (t) => {
  if (await uwsAvailable()) {
    t.equal(await serves(t, 'uws'), 'uws');
  } else {
    await t.rejects(loadTransport('uws', opts), /no uWebSockets\.js build loads here/);
  }
});

t.test('glibc-bound build failure is explained', async (t) => {
  // The error uWebSockets.js's loader throws on a glibc older than its build needs (as
  // on Debian 12): explained on every machine, whatever loads here.
  const glibcError = new Error('This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25 on (glibc) Linux.\n\n'
    + "Error: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /srv/app/node_modules/uWebSockets.js/uws_linux_x64_115.node)");
  const why = explainLoadFailure(glibcError);
  t.match(why, /^needs glibc >= 2\.38, this system has (\d+\.\d+|unknown)$/, `a glibc too old: ${why}`);
  t.notMatch(why, /\/|node_modules/, 'no path in it');
  const u = loadUws();
  const failed = u.notes.find((n) => n.startsWith('uWebSockets.js '));
  if (!failed) { t.comment('uWebSockets.js loaded here: no note of its own to check'); return; }
  t.match(failed, /failed to load \(.+\)/, failed);
});
