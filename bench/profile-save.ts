// CPU and wall time of one dedup-state save (ProfileState.save, client/profile-data.ts)
// on a DirectoryStore holding a full state.json (10,000 seen ids), as a reader saves
// after each message: the record lock, the check whether another process wrote since,
// the device checks, the atomic write. Run: npx tsx bench/profile-save.ts [saves]
// (docs/CLIENT.md, Profiles). Uses a temp directory under /tmp, removed at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DirectoryStore } from '../client/profile.ts';
import { ProfileState, SEEN_CAPACITY } from '../client/profile-data.ts';

const saves = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'hw-sdk-save-'));
try {
  const store = new DirectoryStore(join(dir, 'p'));
  await store.prepare();
  const device = new Uint8Array(randomBytes(16));
  await store.write('device.json', JSON.stringify({ version: 1, device: Buffer.from(device).toString('hex') }));
  const id = () => randomBytes(16).toString('hex');
  const state = new ProfileState(store, { seen: Array.from({ length: SEEN_CAPACITY }, id) }, SEEN_CAPACITY, { device });
  for (let i = 0; i < 20; i++) { state.seen.add(id()); await state.save(); } // warm up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < saves; i++) {
    state.seen.add(id());
    await state.save();
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / saves;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / saves;
  console.log(JSON.stringify({ saves, seen: state.seen.size, cpuUsPerSave: Math.round(cpuUs), userUs: Math.round(cpu.user / saves), systemUs: Math.round(cpu.system / saves), wallUsPerSave: Math.round(wallUs) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
