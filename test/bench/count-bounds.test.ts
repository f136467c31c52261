// --gateways and --workers had no upper bound: a typo (--gateways 1000) started that many
// gateway processes on the machine before anything was measured. Both are refused above
// their bound with a usage error that names it (cli/commands/bench.ts MAX_GATEWAYS,
// maxWorkers). The command's own parsing only: a hook stops it before anything starts.
import t from 'tap';
import { cpus } from 'node:os';
import { maxWorkers, MAX_GATEWAYS } from '../../cli/commands/bench.ts';
import { parseBenchArgs } from '../helpers/bench-cli.ts';

/** The options `args` give, or the usage error's text. */
const parse = parseBenchArgs;

t.test('--gateways: up to 64 taken, more refused saying the bound', async (t) => {
  t.equal(MAX_GATEWAYS, 64);
  t.equal((parse(['--gateways', '64']) as Record<string, unknown>)['gateways'], 64);
  t.match(parse(['--gateways', '65']), /--gateways <n>' argument '65' is invalid\. at most 64 gateway processes on one machine, not 65/);
  t.match(parse(['--gateways', '1000']), /at most 64 gateway processes/);
  t.match(parse(['--gateways', '0']), /must be a positive integer/, 'the lower bound as before');
});

t.test('--workers: up to 4 per core (at most 64), more refused saying the bound', async (t) => {
  t.equal(maxWorkers(1), 4);
  t.equal(maxWorkers(2), 8);
  t.equal(maxWorkers(16), 64);
  t.equal(maxWorkers(96), 64, 'never more than 64');
  const max = maxWorkers(cpus().length);
  t.equal((parse(['--workers', String(max)]) as Record<string, unknown>)['workers'], max, `${max} taken here`);
  t.match(parse(['--workers', String(max + 1)]), new RegExp(`at most ${max} generator threads here \\(4 per core, ${cpus().length} cores?; never more than 64\\), not ${max + 1}`));
  t.match(parse(['--workers', '500']), /at most \d+ generator threads/);
});
