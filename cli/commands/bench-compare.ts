// hushwire bench compare BASE CANDIDATE: saved bench results side by side (bench/compare.ts).
import { Command, InvalidArgumentError } from 'commander';
import { compare, compareTable, nothingToCompare, readSide, CompareInputError, type BenchFile } from '../../bench/compare.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { printJson } from '../options.ts';

/** What a single-run change must exceed to get a verdict: the run-to-run noise measured
 *  on a shared 2-core VM (docs/BENCHMARKS.md, "The machine"). */
export const DEFAULT_NOISE_PCT = 5;

function parseNoise(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a percentage from 0 to 100');
  return n;
}

/** readSide for the CLI: a file that cannot be used is a usage error (exit 2), named
 *  with the option it came from (`--baseline`) when given. */
export function readResults(path: string, option = ''): BenchFile[] {
  try {
    return readSide(path);
  } catch (e) {
    if (e instanceof CompareInputError) throw new HushwireError(ErrorCode.BAD_REQUEST, `${option === '' ? '' : `${option} `}${e.message}`);
    throw e;
  }
}

interface Opts {
  noise: number;
  json?: boolean;
  failOnWorse?: boolean;
}

export function benchCompareCommand(): Command {
  return new Command('compare')
    .description('compare saved bench results (--json output or --report directories): medians, ranges and a verdict per metric')
    .argument('<base>', 'a results file, or a directory of them (*.json, or one --report directory per run: */bench.json)')
    .argument('<candidate>', 'the same for the results to compare against the base')
    .option('--noise <pct>', 'with one run on a side: changes within this many percent are called noise', parseNoise, DEFAULT_NOISE_PCT)
    .option('--json', 'print the comparison as one JSON object on stdout')
    .option('--fail-on-worse', 'exit with status 1 when any metric is worse (a regression gate for scripts and CI)')
    .addHelpText('after', `
Runs of the same system and workload are pooled per side (files, and --repeat rounds
within a file); max-rate and fixed-rate runs are kept apart. With three or more runs
a side, a difference is "better" or "worse" only when the two ranges do not overlap;
with fewer it gets a "?" verdict when it is beyond --noise (and the ranges, if there
are two runs a side, do not overlap). More lost,
duplicated, reordered or failed messages are always "worse". Settings that differ
between the runs (duration, rate, pairs, gateways, ...) are listed first.`)
    .action((base: string, candidate: string, o: Opts) => {
      const c = compare(readResults(base), readResults(candidate), { noisePct: o.noise });
      // A candidate that failed where the base measured has something to say (worse).
      if (c.rows.length === 0 && c.worse === 0) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, nothingToCompare(c));
      }
      if (o.json) printJson(c);
      else process.stdout.write(compareTable(c) + '\n');
      if (o.failOnWorse && c.worse > 0) {
        process.stderr.write(`hushwire: ${c.worse} metric${c.worse === 1 ? '' : 's'} worse than the base\n`);
        process.exitCode = 1;
      }
    });
}
