// The gateway's --ed25519 setting end to end: a gateway on each engine registers and
// authenticates devices, and says which engine it runs (start-up line, metric). The
// engine is process-wide, so the test puts `auto` back when it is done.
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { libsodium, useEd25519, ed25519Engine } from '../../relay/crypto/ed25519-engine.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(7000 + ++seq).padStart(4, '0')}`;

t.teardown(() => { useEd25519('auto'); });

for (const engine of ['openssl', 'libsodium', 'auto'] as const) {
  t.test(`--ed25519 ${engine}`, async (t) => {
    if (engine === 'libsodium' && !libsodium) {
      await t.rejects(startTestGateway({ ed25519: 'libsodium' }), /--ed25519 libsodium: sodium-native/, 'refuses to start rather than fall back');
      return;
    }
    const gw = await startTestGateway({ ed25519: engine });
    t.teardown(() => gw.close());
    const want = engine === 'auto' ? (libsodium ? 'libsodium' : 'openssl') : engine;
    t.equal(gw.ed25519, want, 'the handle names the engine');
    t.equal(ed25519Engine().kind, want, 'the process uses it');
    t.match(gw.logs(), new RegExp(`"ed25519":"${want}","ed25519Why":"${want === 'libsodium' ? 'using libsodium' : 'using OpenSSL'}`), 'the start-up line says so, and why');
    const base = gw.url.replace('ws://', 'http://').replace(/\/ws$/, '');
    const m = await (await fetch(`${base}/metrics`)).text();
    t.match(m, new RegExp(`hushwire_ed25519_info\\{engine="${want}",reason="[^"]+"\\} 1`));
    const { c, dev } = await registerRaw(gw.url, freshNumber()); // register: two signatures checked
    c.close();
    const a = await authenticateRaw(gw.url, dev); // auth: one more
    a.close();
    await a.closed;
    t.pass('registered and authenticated');
  });
}
