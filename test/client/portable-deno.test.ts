// The portable SDK (hushwire/client/portable) under Deno, as docs/CLIENT.md says it runs:
// `deno run` on the TypeScript sources as they are (the SDK's npm imports resolved
// through this repository's package.json and node_modules; nothing fetched), on Deno's
// own WebSocket, crypto and TextEncoder, the scenario of test/fixtures/
// portable-scenario.ts (register, discover, both ways, once, idle on ping ops, reconnect
// after the gateway closes every socket, opt-out) against a real gateway on each
// transport. Deno comes from the npm registry (the `deno` devDependency, pinned), run
// with only the permissions the SDK needs: the gateway's loopback address and reading
// the repository.
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/temp.ts';
import { checkPortableSteps, runScenarioChild } from '../helpers/portable-steps.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';

/** The platform's Deno binary from the deno package's optional dependency (only the
 *  matching one installs), run directly: the package's bin shim would run it as a
 *  grandchild, which a kill at the deadline would leave behind. */
function denoBinary(): string | null {
  const dir = join(ROOT, 'node_modules', '@deno');
  if (!existsSync(dir)) return null;
  for (const d of readdirSync(dir)) {
    const exe = join(dir, d, process.platform === 'win32' ? 'deno.exe' : 'deno');
    if (existsSync(exe)) return exe;
  }
  return null;
}

const DENO = denoBinary();
const FIXTURE = join(ROOT, 'test', 'fixtures', 'portable-deno.ts');
const RUN_MS = 150_000;
const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];
const skip = DENO !== null ? false : 'no Deno binary under node_modules/@deno (the deno devDependency installs the platform\'s)';

let seq = 0;
function number(): string {
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(9000 + ++seq).padStart(4, '0')}`;
}

for (const transport of transports) {
  t.test(`portable SDK under Deno, gateway on ${transport}`, { skip }, async (t) => {
    const gw = await startTestGateway({ transport });
    t.teardown(() => gw.close());
    const [a, b, nobody] = [number(), number(), number()];
    const host = new URL(gw.url).host;
    const args = ['run', '--quiet', '--no-prompt', `--allow-net=${host}`, `--allow-read=${ROOT}`, FIXTURE, gw.url, a, b, nobody];
    // Deno's cache (its compiled TypeScript) in a temp dir, not the user's; no update check.
    const env = { DENO_DIR: tempDir('hw-deno-'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    const { steps, code, stderr } = await runScenarioChild(t, gw, DENO!, args, RUN_MS, env);
    t.equal(code, 0, `deno exits 0 (stderr: ${stderr.slice(-2000)})`);
    t.match(steps.get('runtime'), { deno: true }, 'it ran under Deno');
    checkPortableSteps(t, steps, a, b);
  });
}
