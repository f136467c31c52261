// DirectoryStore's errors name no path: Node's file system errors quote the whole path
// (the profile directory's often names the user: /home/alice/...), and a store's errors
// reach the application's onStoreError and the CLI's `warning: profile: ...` lines as
// they are. They keep their code, errno and syscall, and name the record instead.
import t from 'tap';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryStore } from '../../client/profile.ts';

t.test('a failed write or delete says which record and what, not where', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hw-errpath-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new DirectoryStore(dir);
  // A directory where a record should be: the write's rename and the delete's unlink fail.
  await mkdir(join(dir, 'routes.json'));
  await mkdir(join(dir, 'device.json'));
  const failures: Array<[string, () => Promise<unknown>]> = [
    ['write', () => store.write('routes.json', '{}')],
    ['delete', () => store.delete('routes.json')],
    ['device.json\'s write', () => store.write('device.json', '{}')],
  ];
  for (const [what, run] of failures) {
    const e = await run().then(() => null, (err: unknown) => err) as NodeJS.ErrnoException | null;
    t.ok(e instanceof Error, `${what} fails`);
    t.equal(e?.code, 'EISDIR', `${what}: the code is kept`);
    t.notMatch(e?.message ?? '', dir, `${what}: the message names no path`);
    t.notMatch(e?.message ?? '', tmpdir(), `${what}: not even the temp directory`);
    t.match(e?.message ?? '', /profile file (routes|device)\.json/, `${what}: it names the record`);
  }
});
