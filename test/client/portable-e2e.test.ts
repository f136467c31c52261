// The portable SDK (hushwire/client/portable) end to end against a real gateway, on the
// standard WebSocket API: a child `node --experimental-websocket --import tsx` (Node's
// built-in WHATWG WebSocket, not ws) with in-memory profiles runs
// test/fixtures/portable-handsets.ts: register two devices, discover, send both ways,
// receive each message once, stay connected through an idle stretch on ping ops (a short
// idle setting), reconnect after the gateway closes every socket, opt out.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { checkPortableSteps, runScenarioChild } from '../helpers/portable-steps.ts';
import WsWebSocket from 'ws';
import type { WebSocketConstructor } from '../../client/portable.ts';

// A Node app may pass ws's class as the WebSocket option: it fits the type.
const wsFits: WebSocketConstructor = WsWebSocket;
void wsFits;

const FIXTURE = join(ROOT, 'test', 'fixtures', 'portable-handsets.ts');
const RUN_MS = 150_000;

/** The node flags that give a global WHATWG WebSocket here (none on Node 22+), or null. */
function websocketFlags(): string[] | null {
  for (const flags of [[], ['--experimental-websocket']]) {
    try {
      const out = execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write(typeof WebSocket)'], { timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
      if (out.toString() === 'function') return flags;
    } catch {
      // an unknown flag: try the next
    }
  }
  return null;
}

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];
const wsFlags = websocketFlags();
const BROWSER_GLOBALS = pathToFileURL(join(ROOT, 'test/fixtures/browser-globals.mjs')).href;
const skip = wsFlags ? false : 'this Node has no WHATWG WebSocket (20.10+ with --experimental-websocket)';

let seq = 0;
function number(): string {
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(7000 + ++seq).padStart(4, '0')}`;
}

for (const transport of transports) {
  t.test(`portable SDK, standard WebSocket, in-memory profiles, gateway on ${transport}`, { skip }, async (t) => {
    const gw = await startTestGateway({ transport });
    t.teardown(() => gw.close());
    const [a, b, nobody] = [number(), number(), number()];
    // browser-globals.mjs first: it reports any use of the global Buffer by our code.
    const args = [...(wsFlags ?? []), '--no-warnings', '--import', BROWSER_GLOBALS, '--import', 'tsx', FIXTURE, gw.url, a, b, nobody];
    const { steps, code, stderr } = await runScenarioChild(t, gw, process.execPath, args, RUN_MS);
    t.equal(code, 0, `the child exits 0 (stderr: ${stderr.slice(-2000)})`);
    t.notMatch(stderr, /BUFFER_USED_BY_SDK/, 'no code of ours used the global Buffer (a browser has none)');
    checkPortableSteps(t, steps, a, b);
  });
}
