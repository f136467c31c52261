// The portable SDK scenario (test/fixtures/portable-scenario.ts) from the test's side:
// running it in a child process (Node's WHATWG WebSocket, test/client/
// portable-e2e.test.ts; Deno, test/client/portable-deno.test.ts) and what it must have
// reported, step by step (also in headless Chromium, test/client/portable-browser.test.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { CloseCode } from '../../relay/errors.ts';
import type { TestGateway } from './gateway.ts';
import { ROOT } from './paths.ts';

export interface ScenarioChild {
  steps: Map<string, Record<string, unknown>>;
  code: number | null;
  stderr: string;
}

/**
 * Runs `cmd args` (a scenario entry that prints one JSON step per line), closes every
 * socket of `gw` when it asks ({"step":"kick"}, answered "kicked" on its stdin), and
 * resolves once it printed done or failed and exited, or was killed after `runMs`.
 */
export async function runScenarioChild(t: Test, gw: TestGateway, cmd: string, args: string[], runMs: number, env: NodeJS.ProcessEnv = {}): Promise<ScenarioChild> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killer = setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, runMs);
  t.teardown(() => {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const steps = new Map<string, Record<string, unknown>>();
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    steps.set(String(o.step), o);
    if (o.step === 'kick') {
      // The gateway closes every socket (as a restarting gateway would: 1001).
      gw.relay.closeAll(CloseCode.GOING_AWAY, 'going away');
      child.stdin!.write('kicked\n');
    }
    if (o.step === 'done' || o.step === 'failed') break;
  }
  const code = await exited;
  clearTimeout(killer);
  return { steps, code, stderr };
}

/** The named fields of a step (undefined when the step is missing), to compare whole. */
function pick(step: Record<string, unknown> | undefined, ...keys: string[]): Record<string, unknown> | undefined {
  return step && Object.fromEntries(keys.map((k) => [k, step[k]]));
}

/** Checks every step of one run; `a` and `b` are Alice's and Bob's numbers. */
export function checkPortableSteps(t: Test, steps: Map<string, Record<string, unknown>>, a: string, b: string): void {
  t.equal(steps.get('failed'), undefined, 'no failure');
  t.match(steps.get('refused'), { code: 'UNAVAILABLE', message: /^no gateway reachable \(tried wss?:\/\/[^@?#]+; last attempt: /, records: 0, sockets: 3 }, 'a refused upgrade: bounded attempts (3), UNAVAILABLE, nothing stored');
  // t.match takes an array pattern as a prefix: the arrays of fixed length are t.same.
  t.same(pick(steps.get('registered'), 'devices', 'records'), { devices: [32, 32], records: [5, 5] }, 'two devices; each store holds the five records (keys.json: the own number\'s baseline, taken at registration)');
  t.same(steps.get('connected')?.['states'], ['connected', 'connected']);
  t.match(steps.get('discovered'), { b: { registered: true, devices: 1 }, nobody: { registered: false, devices: 0 } }, 'discovery tells the registered number from the other');
  t.match(steps.get('exchanged'), {
    sent: [/^(delivered|stored)$/, /^(delivered|stored)$/],
    atB: [[a, 'hello bob', true]],
    atA: [[b, 'hello alice', true]],
  }, 'both ways, the sender checked against the directory');
  t.equal((steps.get('exchanged')?.['sent'] as unknown[] | undefined)?.length, 2, 'two sends, two results');
  t.match(steps.get('once'), { atB: ['hello bob', 'second'], ids: 2, duplicates: 0 }, 'each message once');
  // A copy shown after these would pass t.match's prefix:
  t.same(steps.get('exchanged')?.['atB'], [[a, 'hello bob', true]], 'B was shown that one message, nothing more');
  t.same(steps.get('exchanged')?.['atA'], [[b, 'hello alice', true]], 'A was shown that one message, nothing more');
  t.same(steps.get('once')?.['atB'], ['hello bob', 'second'], 'B was shown the two messages, nothing more');
  const idle = steps.get('idle') as { changes: number[]; states: string[]; frames: number[]; sockets: number[] } | undefined;
  t.ok(idle, 'an idle stretch of three idle timeouts');
  if (idle) {
    t.same(idle.changes, [0, 0], 'no reconnect while idle: the ping ops kept both connections');
    t.same(idle.states, ['connected', 'connected']);
    t.same(idle.sockets, [0, 0], 'no new socket');
    t.ok(idle.frames.every((n) => n >= 3), `ping ops went out meanwhile (frames written: ${idle.frames.join(', ')})`);
  }
  const r = steps.get('reconnected') as { codes: number[]; sent: string; atB: string[]; sockets: number[][]; resumed: number[] } | undefined;
  t.ok(r, 'reconnected');
  if (r) {
    t.same(r.codes, [CloseCode.GOING_AWAY, CloseCode.GOING_AWAY], 'both saw the gateway close (1001)');
    t.same(r.atB, ['hello bob', 'second', 'after reconnect'], 'a message after the reconnect arrives, nothing twice');
    t.same(r.resumed, [1, 1], 'both reconnected with their resumption tickets (ticket secret and proof computed in this runtime)');
    const [[g0, e0], [g1, e1]] = r.sockets as [[number, number], [number, number]];
    t.ok(g0 >= 2 && g1 > g0, 'the default path opened its sockets with globalThis.WebSocket, again after the kick');
    t.ok(e0 >= 2 && e1 > e0, 'the WebSocket option was used, again after the kick');
  }
  t.same(pick(steps.get('unregistered'), 'afterOptOut', 'records', 'states'), { afterOptOut: 'NOT_REGISTERED', records: [1, 1], states: ['closed', 'closed'] }, 'opt-out: only gateways.json is left');
  t.ok(steps.get('done'), 'done');
}
