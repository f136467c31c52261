// Hooks on an in-process gateway's bus for race tests: a bus call held at a gate, so a
// test lets another operation happen exactly in between; a NATS bus whose counter writes
// lose their answer after landing.
import type { Test } from 'tap';
import type { TestGateway } from './gateway.ts';
import { NatsBus } from '../../relay/bus/index.ts';

/** A NATS bus whose next `lose` counter writes lose their answer: the write lands, and
 *  the bus tries it once more (as NatsBus does after a fast failure), which meets the
 *  landed write as a conflict (null). */
export class LostAnswers extends NatsBus {
  lose = 0;
  override async counterPut(key: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    const rev = await super.counterPut(key, value, expectedRevision);
    if (rev === null || this.lose === 0) return rev;
    this.lose--;
    return super.counterPut(key, value, expectedRevision);
  }
}

/** Holds `gw`'s first subscribeDevice of the device (route tag `tag`, device token
 *  `tok`) until release(); `entered` resolves once it waits. Released and unhooked at the
 *  test's end. */
export function holdSubscribe(t: Test, gw: TestGateway, tag: string, tok: string): { entered: Promise<void>; release: () => void } {
  const bus = gw.bus;
  const original = bus.subscribeDevice.bind(bus);
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((r) => { enter = r; });
  const gate = new Promise<void>((r) => { release = r; });
  let held = false;
  bus.subscribeDevice = async (...args: Parameters<typeof original>) => {
    if (!held && args[0] === tag && args[1] === tok) {
      held = true;
      enter();
      await gate;
    }
    return original(...args);
  };
  t.teardown(() => { release(); bus.subscribeDevice = original; });
  return { entered, release };
}
