// The SDK on Node: registers what the portable core cannot assume (client/platform.ts):
// `ws` as the default transport, profile directories (client/profile.ts), and the
// native Ed25519/X25519 engines (libsodium or OpenSSL instead of noble's pure JS).
// client/index.ts (hushwire/client) and client/connection.ts import it.
import '../relay/crypto/native.ts';
import { registerPlatform } from './platform.ts';
import { wsTransport } from './ws-transport.ts';
import { DirectoryStore } from './profile.ts';

registerPlatform({
  transport: wsTransport,
  directory: (dir) => {
    const store = new DirectoryStore(dir);
    return { store, prepare: () => store.prepare() };
  },
});
