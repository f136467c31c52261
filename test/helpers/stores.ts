// Profile stores for SDK tests: a MemoryStore whose writes of chosen records fail, as a
// full or broken disk would; a DirectoryStore that stops one operation at a gate.
import { MemoryStore, type ProfileRecord } from '../../client/store.ts';
import { DirectoryStore } from '../../client/profile.ts';

/** A MemoryStore whose writes of the records in `failing` throw `disk full (<record>)`. */
export class FailingStore extends MemoryStore {
  readonly failing = new Set<ProfileRecord>();
  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (this.failing.has(record)) throw new Error(`disk full (${record})`);
    return super.write(record, text);
  }
}

/** A one-time gate: `pass()` (a store operation) stops there until `open()` is called,
 *  or `ms` pass so that no test waits for good; `reached` resolves once it stopped. */
export function gate(ms: number): { reached: Promise<void>; open: () => void; pass: () => Promise<void> } {
  let open!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((r) => { open = r; });
  const reached = new Promise<void>((r) => { reach = r; });
  const timer = setTimeout(() => open(), ms);
  void opened.then(() => clearTimeout(timer));
  return { reached, open, pass: async () => { reach(); await opened; } };
}

/**
 * A DirectoryStore whose next read or write of one record waits at a gate: two
 * "processes" (two stores on one directory) then interleave exactly where a test needs
 * them to (a save holding its record's lock, between its read and its write).
 */
export class GatedDirectoryStore extends DirectoryStore {
  #held: { op: 'read' | 'write'; record: ProfileRecord; pass: () => Promise<void> } | null = null;

  /** Holds the next `op` of `record` (at most 5 s); `reached` resolves once it waits. */
  hold(op: 'read' | 'write', record: ProfileRecord): { reached: Promise<void>; open: () => void } {
    const g = gate(5_000);
    this.#held = { op, record, pass: g.pass };
    return { reached: g.reached, open: g.open };
  }

  async #pass(op: 'read' | 'write', record: ProfileRecord): Promise<void> {
    const h = this.#held;
    if (h === null || h.op !== op || h.record !== record) return;
    this.#held = null;
    await h.pass();
  }

  override async read(record: ProfileRecord): Promise<string | undefined> {
    await this.#pass('read', record);
    return super.read(record);
  }

  override async write(record: ProfileRecord, text: string): Promise<void> {
    await this.#pass('write', record);
    return super.write(record, text);
  }
}
