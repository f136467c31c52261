// hushwire/client/portable has no Node in its module graph: bundled with esbuild for the
// browser, no `node:` module, Node builtin or `ws` is reached, and none of the SDK's
// Node-only modules either. The same check on the Node entry finds them (so the check
// can fail).
import t from 'tap';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { ROOT } from '../helpers/paths.ts';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Node-only modules of this repository (what the portable entry must never load). */
const NODE_ONLY = [
  'client/node.ts', 'client/index.ts', 'client/connection.ts', 'client/ws-transport.ts', 'client/profile.ts',
  'client/routebook.ts', 'client/atomic.ts', 'relay/crypto/native.ts', 'relay/crypto/ed25519-engine.ts',
  'relay/crypto/x25519.ts', 'relay/crypto/sodium.ts', 'relay/crypto/okp-key.ts', 'relay/tokens.ts', 'relay/bytes.ts',
];

interface Finding {
  /** Node builtins and ws imports, with the module that asked. */
  forbidden: string[];
  /** Repository files in the bundle. */
  inputs: string[];
  bytes: number;
}

async function bundle(entry: string): Promise<Finding> {
  const forbidden: string[] = [];
  const spy: Plugin = {
    name: 'no-node',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const p = args.path;
        if (p.startsWith('node:') || BUILTINS.has(p) || BUILTINS.has(p.split('/')[0]!) || p === 'ws' || p.startsWith('ws/')) {
          forbidden.push(`${p} (from ${args.importer.replace(ROOT + '/', '')})`);
          // Left out of the bundle so the build goes on and every such import is listed.
          return { path: p, external: true };
        }
        return undefined;
      });
    },
  };
  const r = await build({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [spy],
  });
  const inputs = Object.keys(r.metafile.inputs);
  for (const i of inputs) if (/(^|\/)node_modules\/ws\//.test(i)) forbidden.push(i);
  return { forbidden, inputs, bytes: r.outputFiles[0]!.contents.length };
}

t.test('the portable entry bundles for the browser without Node builtins or ws', async (t) => {
  const b = await bundle('client/portable.ts');
  t.same(b.forbidden, [], 'no node: import, builtin or ws anywhere in the graph');
  for (const f of NODE_ONLY) t.notOk(b.inputs.includes(f), `${f} is not in the bundle`);
  for (const f of ['client/client.ts', 'client/connection-core.ts', 'client/socket.ts', 'client/store.ts', 'relay/crypto/engines.ts', 'relay/crypto/seal.ts']) {
    t.ok(b.inputs.includes(f), `${f} is (the bundle is the SDK)`);
  }
  t.ok(b.bytes > 0);
});

t.test('the check finds Node in the Node entry', async (t) => {
  const b = await bundle('client/index.ts');
  t.ok(b.forbidden.some((f) => f.startsWith('ws ')), 'ws');
  t.ok(b.forbidden.some((f) => f.startsWith('node:fs')), 'node:fs');
  t.ok(b.forbidden.some((f) => f.startsWith('node:crypto')), 'node:crypto');
});
