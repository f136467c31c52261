// Hooks on an in-process gateway's bus for race tests: a bus call held at a gate, so a
// test lets another operation happen exactly in between.
import type { Test } from 'tap';
import type { TestGateway } from './gateway.ts';

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
