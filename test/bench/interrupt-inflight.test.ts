// A second Ctrl-C while registrations on a running gateway are still in flight: the
// bench exits at once without their answers, and the gateway may still have made them.
// Its last line counts them as possibly left ("and up to N more whose registration was
// under way"); it said only the registered ones it knew of, fewer than the gateway kept
// (495 said, 505 left).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { until } from '../helpers/poll.ts';
import { BIN } from '../helpers/paths.ts';
import { spawnGateway } from '../helpers/gateway.ts';
import { alive } from '../helpers/pid.ts';

t.setTimeout(150_000);

async function counters(gwUrl: string): Promise<{ reg: number; unreg: number }> {
  const text = await (await fetch(gwUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'))).text();
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { reg: v('hushwire_registrations_total'), unreg: v('hushwire_unregistrations_total') };
}

t.test('two signals while registering: the devices said to be left cover those the gateway still registered', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'bench', '--gateway', gw.url, '--peers', 'none', '--workload', 'idle', '--devices', '3000', '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => { if (proc.pid !== undefined && alive(proc.pid)) proc.kill('SIGKILL'); });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const ended = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await until('devices to be registering', async () => (await counters(gw.url)).reg >= 60, 90_000, 50);
  proc.kill('SIGINT');
  // The second as soon as the first was taken (two signals sent at once may merge into one):
  // the registrations in flight (16 at a time) have not answered yet.
  await until('the first signal to be handled', () => /cleaning up before exiting/.test(stderr), 10_000, 1);
  proc.kill('SIGINT');
  t.equal(await ended, 130, 'exit 130');
  const m = /^hushwire bench: SIGINT again: exiting now; ([\d,]+) bench devices left registered on ws:\/\/\S+?( \(and up to ([\d,]+) more whose registration was under way\))?; no run had finished: no results$/m.exec(stderr);
  t.ok(m, `the last line says what is left (stderr: ${stderr.slice(-400)})`);
  const said = Number(m?.[1]?.replace(/,/g, '') ?? NaN);
  const upTo = Number(m?.[3]?.replace(/,/g, '') ?? 0);
  // What the gateway kept once the registrations it had received are done.
  await new Promise((r) => setTimeout(r, 2000));
  const c = await counters(gw.url);
  const left = c.reg - c.unreg;
  t.ok(said <= left, `no more said left (${said}) than the gateway has (${left})`);
  t.ok(said + upTo >= left, `the count with those under way (${said} + up to ${upTo}) covers what the gateway has (${left})`);
});
