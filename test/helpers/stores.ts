// Profile stores for SDK tests: a MemoryStore whose writes of chosen records fail, as a
// full or broken disk would.
import { MemoryStore, type ProfileRecord } from '../../client/store.ts';

/** A MemoryStore whose writes of the records in `failing` throw `disk full (<record>)`. */
export class FailingStore extends MemoryStore {
  readonly failing = new Set<ProfileRecord>();
  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (this.failing.has(record)) throw new Error(`disk full (${record})`);
    return super.write(record, text);
  }
}
