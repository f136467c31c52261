// What the platform provides by default. The portable core (client/portable.ts) knows
// only the standard: globalThis.WebSocket, and profiles in a ProfileStore the app
// passes. The Node entry (client/index.ts, through client/node.ts) registers more when
// it loads: `ws` as the transport (pings, HTTP status of a refused upgrade) and profile
// directories (HushwireClient.open(dir)).
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { whatwgTransport, type Transport } from './socket.ts';
import type { ProfileStore } from './store.ts';

/** A profile directory as the Node platform opens it. */
export interface DirectoryProfile {
  store: ProfileStore;
  /** For a registration: makes the directory; the undo removes it again after a failure
   *  if it did not exist before and is still empty. */
  prepare(): Promise<() => Promise<void>>;
}

export interface Platform {
  transport?: Transport;
  directory?: (dir: string) => DirectoryProfile;
}

let platform: Platform = {};

/** Called once by the Node entry. */
export function registerPlatform(p: Platform): void {
  platform = { ...platform, ...p };
}

/** The transport a connection uses when given none: the registered one (ws on Node),
 *  else globalThis.WebSocket; BAD_REQUEST when there is neither. */
export function defaultTransport(): Transport {
  if (platform.transport) return platform.transport;
  const G = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof G === 'function') return whatwgTransport(G, 'globalThis.WebSocket');
  throw new HushwireError(
    ErrorCode.BAD_REQUEST,
    'no WebSocket here: pass a WHATWG WebSocket constructor as the WebSocket option (on Node, import hushwire/client, which uses ws)',
  );
}

/** A profile directory (Node only); BAD_REQUEST on a platform without directories. */
export function openDirectory(dir: string): DirectoryProfile {
  if (!platform.directory) {
    throw new HushwireError(
      ErrorCode.BAD_REQUEST,
      'a profile directory needs the Node entry (hushwire/client); here, pass a ProfileStore (client/store.ts) instead',
    );
  }
  return platform.directory(dir);
}

/** globalThis.crypto.getRandomValues makes every key, id and blind; without it nothing
 *  can be done safely (React Native needs a polyfill such as react-native-get-random-values). */
export function checkRandom(): void {
  const c = (globalThis as { crypto?: { getRandomValues?: unknown } }).crypto;
  if (typeof c?.getRandomValues !== 'function') {
    throw new HushwireError(
      ErrorCode.BAD_REQUEST,
      'globalThis.crypto.getRandomValues is missing: the SDK cannot make keys (on React Native, install a getRandomValues polyfill first)',
    );
  }
}
