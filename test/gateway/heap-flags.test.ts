// gateway/heap-flags.ts: which of the documented V8 heap flags a gateway process lacks.
import t from 'tap';
import { GATEWAY_HEAP_FLAGS, missingHeapFlags } from '../../gateway/heap-flags.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';

t.test('npm start and npm run gateway pass every flag (what the start line checks for)', async (t) => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const s of ['start', 'gateway']) {
    const argv = scripts[s]!.split(/\s+/).filter((a) => a.startsWith('--'));
    t.same(missingHeapFlags(argv, undefined), [], `npm run ${s}`);
  }
});

t.test('missing: none, one, both; any value counts; NODE_OPTIONS counts; underscores are dashes to node', async (t) => {
  t.same(missingHeapFlags([], undefined), ['--max-semi-space-size=32', '--initial-old-space-size=128']);
  t.same(missingHeapFlags(['--import', 'tsx'], ''), [...GATEWAY_HEAP_FLAGS]);
  t.same(missingHeapFlags(['--max-semi-space-size=64'], undefined), ['--initial-old-space-size=128']);
  t.same(missingHeapFlags(['--initial-old-space-size=256'], '--max-semi-space-size=16'), []);
  t.same(missingHeapFlags(['--initial_old_space_size=128', '--max_semi_space_size=32'], undefined), []);
  t.same(missingHeapFlags(['--max-semi-space-size-x=1'], ' --trace-gc  '), [...GATEWAY_HEAP_FLAGS], 'a longer flag of the same start is another flag');
});
